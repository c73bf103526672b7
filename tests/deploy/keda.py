"""A JSON schema for the part of KEDA's ScaledObject (keda.sh/v1alpha1) the manifests use.

KEDA's CRD is not among Kubernetes' core schemas that kubernetes-validate ships, so this covers
the fields deploy/k8s sets, closed to any other (a typo is an error), with KEDA's own rules:
trigger metadata values are strings, and the redis scaler needs an address (`address`,
`addressFromEnv`, or `host` with `port`) and a `listName`.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_INT_STRING = {"type": "string", "pattern": r"^[0-9]+$"}
_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253}

_HPA_POLICY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "value", "periodSeconds"],
    "properties": {
        "type": {"enum": ["Pods", "Percent"]},
        "value": {"type": "integer", "minimum": 1},
        "periodSeconds": {"type": "integer", "minimum": 1, "maximum": 1800},
    },
}
_HPA_RULES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stabilizationWindowSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
        "selectPolicy": {"enum": ["Max", "Min", "Disabled"]},
        "policies": {"type": "array", "minItems": 1, "items": _HPA_POLICY},
    },
}

_REDIS_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["listName"],
    "oneOf": [
        {"required": ["address"]},
        {"required": ["addressFromEnv"]},
        {"required": ["host", "port"]},
    ],
    "properties": {
        "address": {"type": "string", "pattern": r"^[^\s:]+:[0-9]+$"},
        "addressFromEnv": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
        "host": {"type": "string"},
        "port": _INT_STRING,
        "listName": {"type": "string", "minLength": 1},
        "listLength": _INT_STRING,
        "activationListLength": _INT_STRING,
        "databaseIndex": _INT_STRING,
        "enableTLS": {"enum": ["true", "false"]},
        "passwordFromEnv": {"type": "string"},
        "usernameFromEnv": {"type": "string"},
    },
}

SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": _NAME,
                "namespace": _NAME,
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": _NAME,
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                        "envSourceContainerName": _NAME,
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "advanced": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "name": _NAME,
                                "behavior": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"scaleUp": _HPA_RULES, "scaleDown": _HPA_RULES},
                                },
                            },
                        },
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "redis"},
                            "name": {"type": "string"},
                            "metadata": _REDIS_METADATA,
                        },
                    },
                },
            },
        },
    },
}


def validate_scaled_object(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError (the most relevant one) when `obj` breaks the schema;
    also enforce minReplicaCount <= maxReplicaCount, which a schema cannot express."""
    jsonschema.validators.validate(obj, SCALED_OBJECT_SCHEMA, cls=jsonschema.Draft202012Validator)
    spec = obj["spec"]
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if low > high:
        raise jsonschema.ValidationError(f"minReplicaCount {low} > maxReplicaCount {high}")


def check_schema() -> None:
    """The schema itself is a valid draft 2020-12 schema."""
    jsonschema.Draft202012Validator.check_schema(SCALED_OBJECT_SCHEMA)
