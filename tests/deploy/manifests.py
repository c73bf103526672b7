"""Shared access to the deployment files: paths, rendered kustomizations, schema validation."""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tests.deploy import kustomize
from tests.deploy.keda import validate_scaled_object

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
# Oldest Kubernetes the manifests target: native sidecars (restartable init containers) are
# on by default from 1.29; 1.30 is the oldest release still widely supported.
K8S_VERSION = "1.30"
QUEUES = ("build", "tasks", "episodes", "export")
KUSTOMIZATIONS = {
    "base": K8S / "base",
    "dev": K8S / "overlays" / "dev",
    "prod": K8S / "overlays" / "prod",
    "prod-host-socket": K8S / "overlays" / "prod-host-socket",
}

Obj = dict[str, Any]


def kubectl() -> str | None:
    return shutil.which("kubectl")


@functools.cache
def _render(name: str) -> tuple[str, list[Obj]]:
    folder = KUSTOMIZATIONS[name]
    objs = kustomize.build(folder)
    tool = "tests/deploy/kustomize.py"
    exe = kubectl()
    if exe:
        # The real tool is the reference: the small renderer must produce exactly its output.
        out = subprocess.run(
            [exe, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        real = [d for d in yaml.safe_load_all(out) if d is not None]
        assert _index(objs) == _index(real), f"tests/deploy/kustomize.py renders {name} unlike kubectl"
        objs, tool = real, "kubectl kustomize"
    return tool, objs


def render(name: str) -> list[Obj]:
    """The resources kustomization `name` builds (by kubectl when present, checked against the
    test renderer; by the renderer alone otherwise)."""
    return copy.deepcopy(_render(name)[1])


def render_tool(name: str) -> str:
    return _render(name)[0]


def _index(objs: list[Obj]) -> dict[tuple[str, str, str], Obj]:
    return {key(o): o for o in objs}


def key(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", "")


def by_kind(objs: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def one(objs: list[Obj], kind: str, name: str) -> Obj:
    found = by_kind(objs, kind)
    assert name in found, f"no {kind} {name!r} (have {sorted(found)})"
    return found[name]


@functools.cache
def _validate_cached(text: str) -> None:
    obj = json.loads(text)
    if obj.get("kind") == "ScaledObject":
        validate_scaled_object(obj)
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def validate(obj: Obj) -> None:
    """Validate against Kubernetes' schemas (strict: unknown fields are errors) or, for KEDA's
    ScaledObject, against tests/deploy/keda.py. Raises on the first problem."""
    _validate_cached(json.dumps(obj, sort_keys=True))


def pod_spec(workload: Obj) -> Obj:
    return workload["spec"]["template"]["spec"]


def all_containers(pod: Obj) -> list[Obj]:
    return list(pod.get("initContainers", [])) + list(pod.get("containers", []))


def container(pod: Obj, name: str) -> Obj:
    found = {c["name"]: c for c in all_containers(pod)}
    assert name in found, f"no container {name!r} (have {sorted(found)})"
    return found[name]


def env_value(c: Obj, name: str) -> str | None:
    for item in c.get("env", []):
        if item["name"] == name:
            return item.get("value")
    return None


def workloads(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]


def load_yaml_docs(path: Path) -> list[Obj]:
    return kustomize.load_docs(path)
