"""A small kustomize renderer: the subset deploy/k8s uses, for machines without kubectl.

Supported: `resources` (files and kustomization folders), `components`, `patches`
(strategic merge, from a file, with or without a `target` of kind/name/labelSelector),
`namespace`, `images` and `replicas`, applied in kustomize's order (resources, components,
patches, namespace, replicas, images). Any other kustomization field raises, so a manifest
that starts using one is never rendered wrongly in silence.

Strategic merge follows Kubernetes' patch strategy for the fields the manifests patch: lists
of containers, init containers, env, volumes and volume mounts merge by their key (`name`,
or `mountPath` for volume mounts); items marked `$patch: delete` are removed; `null` deletes
a key; every other list is replaced. Merged lists come out as kustomize writes them: the
patch's items in the patch's order, then the items the patch did not mention.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "patches",
    "namespace",
    "images",
    "replicas",
}
# Lists merged item by item, keyed by this field (Kubernetes' patchMergeKey).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
}
REPLICATED_KINDS = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}


class KustomizeError(Exception):
    pass


def load_docs(path: Path) -> list[Obj]:
    """The non-empty YAML documents of a file."""
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def build(folder: Path) -> list[Obj]:
    """Render the kustomization in `folder`, like `kubectl kustomize folder`."""
    return _build(folder, component=False)


def _read_kustomization(folder: Path, component: bool) -> Obj:
    path = folder / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{folder}: no kustomization.yaml")
    k = yaml.safe_load(path.read_text()) or {}
    unknown = set(k) - SUPPORTED_FIELDS
    if unknown:
        raise KustomizeError(f"{path}: fields this renderer does not support: {sorted(unknown)}")
    expected = "Component" if component else "Kustomization"
    if k.get("kind", "Kustomization") != expected:
        raise KustomizeError(f"{path}: kind {k.get('kind')!r}, expected {expected}")
    return k


def _build(folder: Path, component: bool, objs: list[Obj] | None = None) -> list[Obj]:
    k = _read_kustomization(folder, component)
    objs = list(objs or [])
    for entry in k.get("resources", []):
        path = folder / entry
        objs += _build(path, component=False) if path.is_dir() else copy.deepcopy(load_docs(path))
    for entry in k.get("components", []):
        objs = _build(folder / entry, component=True, objs=objs)
    for patch in k.get("patches", []):
        apply_patch(objs, folder, patch)
    if "namespace" in k:
        set_namespace(objs, k["namespace"])
    for entry in k.get("replicas", []):
        set_replicas(objs, entry["name"], int(entry["count"]))
    for entry in k.get("images", []):
        set_image(objs, entry)
    return objs


# --------------------------------------------------------------------------------------------
# patches
# --------------------------------------------------------------------------------------------


def _labels_match(obj: Obj, selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    for term in selector.split(","):
        key, _, value = term.strip().partition("=")
        if labels.get(key) != value:
            return False
    return True


def select(objs: list[Obj], target: Obj) -> list[Obj]:
    """Resources a patch target names (kind, name, namespace, labelSelector; exact values)."""
    unknown = set(target) - {"kind", "name", "namespace", "labelSelector", "group", "version"}
    if unknown:
        raise KustomizeError(f"target fields not supported: {sorted(unknown)}")
    found = []
    for obj in objs:
        meta = obj.get("metadata", {})
        group_version = obj.get("apiVersion", "")
        group = group_version.rpartition("/")[0]
        version = group_version.rpartition("/")[2]
        if "kind" in target and obj.get("kind") != target["kind"]:
            continue
        if "name" in target and meta.get("name") != target["name"]:
            continue
        if "namespace" in target and meta.get("namespace") != target["namespace"]:
            continue
        if "group" in target and group != target["group"]:
            continue
        if "version" in target and version != target["version"]:
            continue
        if "labelSelector" in target and not _labels_match(obj, target["labelSelector"]):
            continue
        found.append(obj)
    return found


def apply_patch(objs: list[Obj], folder: Path, entry: Obj) -> None:
    if set(entry) - {"path", "target"} or "path" not in entry:
        raise KustomizeError(f"{folder}: only `path` patches with an optional `target`: {entry}")
    for patch in load_docs(folder / entry["path"]):
        if "target" in entry:
            targets = select(objs, entry["target"])
            if not targets:
                raise KustomizeError(f"{folder}: patch {entry['path']} selects nothing")
        else:
            meta = patch.get("metadata", {})
            targets = [
                o
                for o in objs
                if o.get("kind") == patch.get("kind")
                and o.get("metadata", {}).get("name") == meta.get("name")
                and ("namespace" not in meta or o["metadata"].get("namespace") == meta["namespace"])
            ]
            if len(targets) != 1:
                raise KustomizeError(
                    f"{folder}: patch {entry['path']} for {patch.get('kind')}/{meta.get('name')} "
                    f"matches {len(targets)} resources, expected 1"
                )
        for obj in targets:
            body = copy.deepcopy(patch)
            # A targeted patch never renames what it patches.
            body.pop("apiVersion", None)
            body.pop("kind", None)
            body_meta = body.get("metadata", {})
            body_meta.pop("name", None)
            body_meta.pop("namespace", None)
            if not body_meta:
                body.pop("metadata", None)
            merged = strategic_merge(obj, body)
            obj.clear()
            obj.update(merged)


def strategic_merge(dest: Obj, patch: Obj) -> Obj:
    out = copy.deepcopy(dest)
    for key, value in patch.items():
        if key == "$patch":
            raise KustomizeError(f"`$patch: {value}` is supported on list items only")
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = strategic_merge(out[key], value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(out.get(key), list):
            out[key] = _merge_list(out[key], value, MERGE_KEYS[key])
        else:
            out[key] = _strip_directives(copy.deepcopy(value))
    return out


def _merge_list(dest: list[Obj], patch: list[Obj], key: str) -> list[Obj]:
    by_key = {item[key]: item for item in dest}
    result: list[Obj] = []
    mentioned = set()
    for item in patch:
        if key not in item:
            raise KustomizeError(f"list item without its merge key {key!r}: {item}")
        mentioned.add(item[key])
        if item.get("$patch") == "delete":
            continue
        if item[key] in by_key:
            result.append(strategic_merge(by_key[item[key]], item))
        else:
            result.append(_strip_directives(copy.deepcopy(item)))
    result += [copy.deepcopy(item) for item in dest if item[key] not in mentioned]
    return result


def _strip_directives(value: Any) -> Any:
    """A new value from a patch: drop the merge directives it may carry."""
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if k != "$patch"}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# namespace, replicas, images
# --------------------------------------------------------------------------------------------


def set_namespace(objs: list[Obj], namespace: str) -> None:
    for obj in objs:
        meta = obj.setdefault("metadata", {})
        if obj.get("kind") == "Namespace":
            meta["name"] = namespace
        elif obj.get("kind") not in CLUSTER_SCOPED:
            meta["namespace"] = namespace


def set_replicas(objs: list[Obj], name: str, count: int) -> None:
    targets = [o for o in objs if o.get("kind") in REPLICATED_KINDS and o["metadata"].get("name") == name]
    if not targets:
        raise KustomizeError(f"replicas: no workload named {name!r}")
    for obj in targets:
        obj.setdefault("spec", {})["replicas"] = count


_IMAGE = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[^:/@]+))?(?:@(?P<digest>.+))?$")


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """`registry/name:tag@digest` -> (name, tag, digest); a registry port is part of the name."""
    m = _IMAGE.match(ref)
    if not m:
        raise KustomizeError(f"unparsable image reference {ref!r}")
    return m["name"], m["tag"], m["digest"]


def set_image(objs: list[Obj], entry: Obj) -> None:
    unknown = set(entry) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise KustomizeError(f"images: fields not supported: {sorted(unknown)}")
    for container in _containers(objs):
        name, tag, digest = split_image(container["image"])
        if name != entry["name"]:
            continue
        name = entry.get("newName", name)
        if "digest" in entry:
            tag, digest = None, entry["digest"]
        elif "newTag" in entry:
            tag, digest = str(entry["newTag"]), None
        container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _containers(value: Any) -> list[Obj]:
    """Every container (and init container) with an image, anywhere in the resources."""
    found: list[Obj] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("containers", "initContainers") and isinstance(item, list):
                found += [c for c in item if isinstance(c, dict) and "image" in c]
            else:
                found += _containers(item)
    elif isinstance(value, list):
        for item in value:
            found += _containers(item)
    return found
