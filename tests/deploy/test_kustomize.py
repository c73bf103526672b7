"""The test renderer (tests/deploy/kustomize.py) behaves like kustomize on what it supports,
and refuses what it does not, so that machines without kubectl still check real output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import kustomize
from tests.deploy.manifests import KUSTOMIZATIONS, key, kubectl, render, render_tool


def _write(folder: Path, files: dict[str, dict | list]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        # A list is a multi-document file; a mapping is one document.
        text = yaml.safe_dump_all(content) if isinstance(content, list) else yaml.safe_dump(content)
        (folder / name).write_text(text)
    return folder


def _build(folder: Path) -> list[dict]:
    """The renderer's build, checked against kubectl's when kubectl is on PATH."""
    objs = kustomize.build(folder)
    exe = kubectl()
    if exe:
        out = subprocess.run([exe, "kustomize", str(folder)], capture_output=True, text=True, check=True)
        real = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
        assert {key(o): o for o in objs} == {key(o): o for o in real}
    return objs


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"tier": "front"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "initContainers": [{"name": "setup", "image": "app:1.0"}],
                "containers": [
                    {
                        "name": "main",
                        "image": "app:1.0",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        "args": ["serve", "--fast"],
                    },
                    {"name": "side", "image": "registry:5000/tools/side:2@sha256:abc"},
                ],
                "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}],
            }
        },
    },
}


def test_strategic_merge_by_key_delete_and_replace(tmp_path: Path) -> None:
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ignored"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                            "args": ["serve"],
                            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "$patch": "delete"}],
                    "initContainers": None,
                }
            }
        },
    }
    base = _write(
        tmp_path / "base", {"kustomization.yaml": {"resources": ["d.yaml"]}, "d.yaml": [DEPLOYMENT]}
    )
    _write(
        tmp_path / "ov",
        {
            "kustomization.yaml": {
                "resources": ["../base"],
                "patches": [
                    {"path": "p.yaml", "target": {"kind": "Deployment", "labelSelector": "tier=front"}}
                ],
            },
            "p.yaml": [patch],
        },
    )
    assert _build(base) == [DEPLOYMENT]
    (out,) = _build(tmp_path / "ov")
    spec = out["spec"]["template"]["spec"]
    assert out["metadata"]["name"] == "web", "a targeted patch does not rename"
    assert "initContainers" not in spec
    main = spec["containers"][0]
    # Patch items first, in the patch's order; then the ones it did not mention.
    assert main["env"] == [
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
        {"name": "A", "value": "1"},
    ]
    assert main["args"] == ["serve"], "lists without a merge key are replaced"
    assert [m["mountPath"] for m in main["volumeMounts"]] == ["/cache", "/tmp"]
    assert spec["volumes"] == [{"name": "cache", "emptyDir": {}}]
    assert [c["name"] for c in spec["containers"]] == ["main", "side"]


def test_namespace_replicas_images_and_components(tmp_path: Path) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    _write(
        tmp_path / "base",
        {"kustomization.yaml": {"resources": ["r.yaml"]}, "r.yaml": [namespace, DEPLOYMENT]},
    )
    _write(
        tmp_path / "comp",
        {
            "kustomization.yaml": {
                "apiVersion": "kustomize.config.k8s.io/v1alpha1",
                "kind": "Component",
                "patches": [{"path": "p.yaml"}],
            },
            "p.yaml": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "web"},
                    "spec": {"paused": True},
                }
            ],
        },
    )
    _write(
        tmp_path / "ov",
        {
            "kustomization.yaml": {
                "namespace": "b",
                "resources": ["../base"],
                "components": ["../comp"],
                "replicas": [{"name": "web", "count": 5}],
                "images": [
                    {"name": "app", "newName": "reg.example/app", "newTag": "2.0"},
                    {"name": "registry:5000/tools/side", "newTag": "3"},
                ],
            }
        },
    )
    ns, dep = _build(tmp_path / "ov")
    assert ns["metadata"] == {"name": "b"}
    assert dep["metadata"]["namespace"] == "b"
    assert dep["spec"]["replicas"] == 5 and dep["spec"]["paused"] is True
    spec = dep["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["image"] == "reg.example/app:2.0"
    assert [c["image"] for c in spec["containers"]] == ["reg.example/app:2.0", "registry:5000/tools/side:3"]


def test_split_image() -> None:
    assert kustomize.split_image("redis") == ("redis", None, None)
    assert kustomize.split_image("redis:7") == ("redis", "7", None)
    assert kustomize.split_image("host:5000/a/b:1.2@sha256:ff") == ("host:5000/a/b", "1.2", "sha256:ff")
    assert kustomize.split_image("host:5000/a/b") == ("host:5000/a/b", None, None)


def test_refuses_what_it_does_not_support(tmp_path: Path) -> None:
    _write(tmp_path / "k", {"kustomization.yaml": {"resources": [], "namePrefix": "x-"}})
    with pytest.raises(kustomize.KustomizeError, match="namePrefix"):
        kustomize.build(tmp_path / "k")
    _write(
        tmp_path / "p",
        {
            "kustomization.yaml": {"resources": ["d.yaml"], "patches": [{"path": "p.yaml"}]},
            "d.yaml": [DEPLOYMENT],
            "p.yaml": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nope"}}],
        },
    )
    with pytest.raises(kustomize.KustomizeError, match="matches 0 resources"):
        kustomize.build(tmp_path / "p")


@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_renderer_agrees_with_kubectl_when_present(name: str) -> None:
    """With kubectl on PATH, what the tests check is kubectl's build, and it must equal the
    renderer's (the fallback where kubectl is missing), resource by resource."""
    expected = "kubectl kustomize" if kubectl() else "tests/deploy/kustomize.py"
    assert render_tool(name) == expected
    built = {key(o): o for o in kustomize.build(KUSTOMIZATIONS[name])}
    assert {key(o): o for o in render(name)} == built
