"""The Kubernetes manifests: every file parses, every resource passes Kubernetes' schemas (or
KEDA's, for ScaledObjects), and each kustomization builds to a complete, consistent whole that
deploys the service contract (commands, probes, queues, Docker engine, scaling)."""

from __future__ import annotations

import copy
import re
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy import keda
from tests.deploy.manifests import (
    DEPLOY,
    K8S,
    KUSTOMIZATIONS,
    QUEUES,
    all_containers,
    by_kind,
    container,
    env_value,
    key,
    load_yaml_docs,
    one,
    pod_spec,
    render,
    render_tool,
    validate,
    workloads,
)

ALL = list(KUSTOMIZATIONS)
NAMESPACE = {"base": "forager", "dev": "forager-dev", "prod": "forager", "prod-host-socket": "forager"}
API_COMMAND = ["uvicorn", "api.app:app", "--host", "0.0.0.0", "--port", "8000"]
MIGRATE_COMMAND = ["forager", "db", "upgrade"]
DIND_HOST = "tcp://127.0.0.1:2375"
SOCKET = "/var/run/docker.sock"


def command_of(c: dict) -> list[str]:
    return list(c.get("command", [])) + list(c.get("args", []))


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert len(files) > 10
    for path in files:
        docs = load_yaml_docs(path)
        assert docs, f"{path} holds no document"
        assert all(isinstance(d, dict) for d in docs), f"{path}: a document is not a mapping"


def _resource_files() -> list:
    """Every file some kustomization lists under `resources` (complete manifests)."""
    files = []
    for kust in sorted(K8S.rglob("kustomization.yaml")):
        for entry in yaml.safe_load(kust.read_text()).get("resources", []):
            path = (kust.parent / entry).resolve()
            if path.is_file():
                files.append(path)
    return files


@pytest.mark.parametrize("path", _resource_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_resource_file_passes_schemas(path) -> None:
    for obj in load_yaml_docs(path):
        validate(obj)


def test_every_manifest_file_is_used() -> None:
    """No stray manifest: each YAML file under deploy/k8s is a kustomization, a resource or a
    patch that some kustomization names."""
    named = set()
    for kust in K8S.rglob("kustomization.yaml"):
        k = yaml.safe_load(kust.read_text())
        named |= {(kust.parent / e).resolve() for e in k.get("resources", [])}
        named |= {(kust.parent / p["path"]).resolve() for p in k.get("patches", [])}
    for path in K8S.rglob("*.yaml"):
        if path.name != "kustomization.yaml":
            assert path.resolve() in named, f"{path.relative_to(K8S)} is not used by any kustomization"


def test_validators_reject_mistakes() -> None:
    """The checks are real: a misspelt field and a non-string trigger value are both caught."""
    deployment = copy.deepcopy(one(render("base"), "Deployment", "api"))
    pod_spec(deployment)["containers"][0]["imagePullPolicey"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30", strict=True)
    keda.check_schema()
    scaled = copy.deepcopy(one(render("base"), "ScaledObject", "worker-build"))
    scaled["spec"]["triggers"][0]["metadata"]["listLength"] = 4
    with pytest.raises(jsonschema.ValidationError):
        keda.validate_scaled_object(scaled)
    scaled = copy.deepcopy(one(render("base"), "ScaledObject", "worker-build"))
    scaled["spec"]["minReplicaCount"] = 9
    with pytest.raises(jsonschema.ValidationError):
        keda.validate_scaled_object(scaled)


def test_secrets_hold_placeholders_only() -> None:
    for obj in by_kind(render("base"), "Secret").values():
        assert "data" not in obj, "secrets are committed as readable placeholders (stringData)"
        for name, value in obj["stringData"].items():
            assert "CHANGE-ME" in value, f"{obj['metadata']['name']}.{name} is not a placeholder"


# ---------------------------------------------------------------------------------------------
# every kustomization builds to a complete, valid, self-consistent set
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_builds_and_every_resource_is_valid(name: str) -> None:
    objs = render(name)
    print(f"{name}: {len(objs)} resources built by {render_tool(name)}")
    assert len({key(o) for o in objs}) == len(objs), "duplicate resources"
    for obj in objs:
        validate(obj)


@pytest.mark.parametrize("name", ALL)
def test_everything_in_one_namespace(name: str) -> None:
    objs = render(name)
    ns = NAMESPACE[name]
    assert list(by_kind(objs, "Namespace")) == [ns]
    for obj in objs:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == ns, key(obj)


@pytest.mark.parametrize("name", ALL)
def test_references_resolve(name: str) -> None:
    """Selectors find their pods; ConfigMaps, Secrets, PVCs and volumes that pods use exist."""
    objs = render(name)
    config_maps, secrets, claims = (
        by_kind(objs, k) for k in ("ConfigMap", "Secret", "PersistentVolumeClaim")
    )
    pods = []
    for w in workloads(objs):
        labels = w["spec"]["template"]["metadata"]["labels"]
        selector = w["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), f"{key(w)}: selector does not match its pods"
        pods.append((w, labels))
        spec = pod_spec(w)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        claim_templates = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
        for c in all_containers(spec):
            for mount in c.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in claim_templates, (key(w), mount)
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, (key(w), source)
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, (key(w), source)
            for item in c.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    assert ref["key"] in secrets[ref["name"]]["stringData"], (key(w), ref)
        for v in volumes.values():
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in claims, (key(w), v)
        if w["kind"] == "StatefulSet":
            assert w["spec"]["serviceName"] in by_kind(objs, "Service"), key(w)

    def matching(selector: dict) -> list:
        return [w for w, labels in pods if selector.items() <= labels.items()]

    for svc in by_kind(objs, "Service").values():
        targets = matching(svc["spec"]["selector"])
        assert len(targets) == 1, f"Service {svc['metadata']['name']} selects {len(targets)} workloads"
        ports = {p.get("name") for c in pod_spec(targets[0])["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, (svc["metadata"]["name"], port)
    for pdb in by_kind(objs, "PodDisruptionBudget").values():
        assert len(matching(pdb["spec"]["selector"]["matchLabels"])) == 1, pdb["metadata"]["name"]
    for policy in by_kind(objs, "NetworkPolicy").values():
        assert matching(policy["spec"]["podSelector"]["matchLabels"]), policy["metadata"]["name"]


@pytest.mark.parametrize("name", ALL)
def test_containers_are_pinned_bounded_and_locked_down(name: str) -> None:
    for w in workloads(render(name)):
        spec = pod_spec(w)
        assert spec.get("automountServiceAccountToken") is False, key(w)
        for c in all_containers(spec):
            where = (*key(w), c["name"])
            image = c["image"]
            tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
            assert tag and tag != "latest", f"{where}: image {image} has no pinned tag"
            resources = c.get("resources", {})
            assert resources.get("requests") and "memory" in resources.get("limits", {}), where
            sc = c.get("securityContext", {})
            if c["name"] == "dind":
                assert sc.get("privileged") is True, where
                continue
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("privileged"), where


# ---------------------------------------------------------------------------------------------
# the service contract
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_api(name: str) -> None:
    objs = render(name)
    api = one(objs, "Deployment", "api")
    spec = pod_spec(api)
    c = container(spec, "api")
    assert command_of(c) == API_COMMAND
    assert c["ports"] == [{"name": "http", "containerPort": 8000}]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert command_of(container(spec, "migrate")) == MIGRATE_COMMAND
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert one(objs, "Service", "api")["spec"]["ports"][0]["port"] == 8000
    assert one(objs, "PodDisruptionBudget", "api")["spec"]["minAvailable"] >= 1
    # The data volume is shared by every Forager pod.
    assert {v["name"]: v for v in spec["volumes"]}["data"]["persistentVolumeClaim"][
        "claimName"
    ] == "forager-data"


@pytest.mark.parametrize("name", ALL)
def test_beat_is_a_singleton(name: str) -> None:
    beat = one(render(name), "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert command_of(container(pod_spec(beat), "beat")) == ["celery", "-A", "workers.app", "beat"]


@pytest.mark.parametrize("name", ALL)
def test_one_worker_per_queue(name: str) -> None:
    objs = render(name)
    workers = {
        w["metadata"]["name"]: w
        for w in by_kind(objs, "Deployment").values()
        if w["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    }
    assert sorted(workers) == sorted(f"worker-{q}" for q in QUEUES)
    for queue in QUEUES:
        w = workers[f"worker-{queue}"]
        # KEDA owns the replica count; a value in the manifest would fight it on every apply.
        assert "replicas" not in w["spec"], f"worker-{queue} sets replicas"
        spec = pod_spec(w)
        args = command_of(container(spec, "worker"))
        assert args[:6] == ["celery", "-A", "workers.app", "worker", "-Q", queue], args
        assert args[6] == "--concurrency" and int(args[7]) >= 1 and args[8:] == ["--loglevel", "INFO"]
        assert command_of(container(spec, "migrate")) == MIGRATE_COMMAND
        assert spec["terminationGracePeriodSeconds"] >= 600
        mounts = {m["mountPath"]: m["name"] for m in container(spec, "worker")["volumeMounts"]}
        assert mounts["/data"] == "data"
        pdb = one(objs, "PodDisruptionBudget", f"worker-{queue}")
        assert pdb["spec"]["selector"]["matchLabels"] == w["spec"]["selector"]["matchLabels"]


def _docker_mode(worker: dict) -> str:
    spec = pod_spec(worker)
    names = [c["name"] for c in all_containers(spec)]
    c = container(spec, "worker")
    host = env_value(c, "DOCKER_HOST")
    volumes = {v["name"]: v for v in spec["volumes"]}
    if "dind" in names:
        dind = container(spec, "dind")
        assert dind["image"].startswith("docker:") and dind["image"].endswith("-dind")
        # A native sidecar: started before the worker, stopped after it.
        assert dind["restartPolicy"] == "Always" and dind in spec["initContainers"]
        assert "startupProbe" in dind
        assert "--host=tcp://127.0.0.1:2375" in dind["args"] and "--tls=false" in dind["args"]
        assert not any("0.0.0.0" in a for a in dind["args"]), "the engine must not listen beyond loopback"
        graph = {m["mountPath"]: m["name"] for m in dind["volumeMounts"]}["/var/lib/docker"]
        assert "emptyDir" in volumes[graph]
        assert host == DIND_HOST
        assert not any("hostPath" in v for v in volumes.values())
        return "dind"
    assert host == f"unix://{SOCKET}"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert volumes[mounts[SOCKET]]["hostPath"] == {"path": SOCKET, "type": "Socket"}
    assert not any(sc.get("securityContext", {}).get("privileged") for sc in all_containers(spec))
    return "host-socket"


@pytest.mark.parametrize("name", ALL)
def test_workers_reach_a_docker_engine(name: str) -> None:
    expected = "host-socket" if name == "prod-host-socket" else "dind"
    objs = render(name)
    for queue in QUEUES:
        assert _docker_mode(one(objs, "Deployment", f"worker-{queue}")) == expected
    # Only workers get an engine.
    for w in workloads(objs):
        if w["metadata"]["labels"].get("app.kubernetes.io/component") != "worker":
            spec = pod_spec(w)
            assert all(env_value(c, "DOCKER_HOST") is None for c in all_containers(spec)), key(w)
            assert not any("hostPath" in v for v in spec.get("volumes", [])), key(w)


@pytest.mark.parametrize("name", ALL)
def test_scaled_objects_follow_their_queues(name: str) -> None:
    """Each worker scales on the Redis list its Celery queue uses, read from the Redis the
    workers use, at an address KEDA's operator (another namespace) can resolve."""
    objs = render(name)
    ns = NAMESPACE[name]
    config = one(objs, "ConfigMap", "forager-config")["data"]
    broker = urlsplit(config["FORAGER_REDIS_URL"])
    redis_svc = one(objs, "Service", broker.hostname)
    redis_port = {p["port"] for p in redis_svc["spec"]["ports"]}
    assert (broker.port or 6379) in redis_port
    db_index = (broker.path or "/0").lstrip("/") or "0"
    scaled = by_kind(objs, "ScaledObject")
    assert sorted(scaled) == sorted(f"worker-{q}" for q in QUEUES)
    for queue in QUEUES:
        so = scaled[f"worker-{queue}"]
        target = one(objs, "Deployment", so["spec"]["scaleTargetRef"]["name"])
        assert target["metadata"]["name"] == f"worker-{queue}"
        source = container(pod_spec(target), so["spec"]["scaleTargetRef"]["envSourceContainerName"])
        assert so["spec"]["minReplicaCount"] >= 1, "every queue keeps a warm worker"
        (trigger,) = so["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "redis"
        assert meta["listName"] == queue
        assert int(meta["listLength"]) >= 1
        assert meta["databaseIndex"] == db_index
        # addressFromEnv is resolved from the target container's envFrom ConfigMap.
        assert {"configMapRef": {"name": "forager-config"}} in source["envFrom"]
        address = config[meta["addressFromEnv"]]
        assert address == f"{broker.hostname}.{ns}.svc.cluster.local:{broker.port or 6379}"


@pytest.mark.parametrize("name", ALL)
def test_datastores(name: str) -> None:
    objs = render(name)
    redis = container(pod_spec(one(objs, "StatefulSet", "redis")), "redis")
    assert redis["image"].startswith("redis:7")
    assert command_of(redis)[command_of(redis).index("--appendonly") + 1] == "yes"
    postgres = one(objs, "StatefulSet", "postgres")
    pg = container(pod_spec(postgres), "postgres")
    assert pg["image"].startswith("postgres:16")
    assert "pg_isready" in pg["readinessProbe"]["exec"]["command"]
    assert {m["name"] for m in pg["volumeMounts"]} >= {"data"}
    assert postgres["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    secrets = one(objs, "Secret", "forager-secrets")["stringData"]
    db = urlsplit(secrets["FORAGER_DATABASE_URL"])
    assert db.scheme == "postgresql+psycopg" and db.hostname == "postgres" and db.port == 5432
    assert "FORAGER_API_KEYS_PEPPER" in secrets
    # Redis is reachable by KEDA's operator through its network policy.
    policy = one(objs, "NetworkPolicy", "redis")["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}} in policy


@pytest.mark.parametrize("name", ALL)
def test_vllm_serves_the_policy(name: str) -> None:
    objs = render(name)
    vllm = one(objs, "Deployment", "vllm")
    c = container(pod_spec(vllm), "vllm")
    args = command_of(c)
    assert c["image"].startswith("vllm/vllm-openai:")
    assert args[args.index("--model") + 1]
    assert args[args.index("--served-model-name") + 1] == "policy"
    assert "--enable-auto-tool-choice" in args
    assert args[args.index("--tool-call-parser") + 1] == "hermes"
    assert args[args.index("--port") + 1] == "8000"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    # The openai policy's base URL is this Service.
    config = one(objs, "ConfigMap", "forager-config")["data"]
    url = urlsplit(config["FORAGER_POLICY_BASE_URL"])
    svc = one(objs, "Service", url.hostname)
    assert url.port in {p["port"] for p in svc["spec"]["ports"]} and url.path == "/v1"
    assert svc["spec"]["selector"] == vllm["spec"]["selector"]["matchLabels"]
    assert config["FORAGER_POLICY_MODEL"] == "policy"


def test_config_keys_are_settings() -> None:
    """ConfigMap keys are FORAGER_* settings, except the one KEDA reads."""
    for k in one(render("base"), "ConfigMap", "forager-config")["data"]:
        assert re.fullmatch(r"FORAGER_[A-Z0-9_]+|KEDA_REDIS_ADDRESS", k), k


# ---------------------------------------------------------------------------------------------
# what the overlays change
# ---------------------------------------------------------------------------------------------


def _replicas(objs: list, name: str) -> int:
    return one(objs, "Deployment", name)["spec"]["replicas"]


def test_dev_overlay_is_small() -> None:
    objs = render("dev")
    assert _replicas(objs, "api") == 1
    assert _replicas(objs, "vllm") == 0
    for so in by_kind(objs, "ScaledObject").values():
        assert so["spec"]["maxReplicaCount"] == 1
    assert one(objs, "PersistentVolumeClaim", "forager-data")["spec"]["accessModes"] == ["ReadWriteOnce"]
    base = {key(w)[2]: w for w in workloads(render("base"))}
    for queue in QUEUES:
        dev_worker = container(pod_spec(one(objs, "Deployment", f"worker-{queue}")), "worker")
        base_worker = container(pod_spec(base[f"worker-{queue}"]), "worker")
        assert dev_worker["resources"] != base_worker["resources"]
    images = {c["image"] for w in workloads(objs) for c in all_containers(pod_spec(w))}
    assert "forager:dev" in images


def test_prod_overlay_scales_out() -> None:
    prod, base = render("prod"), render("base")
    assert _replicas(prod, "api") >= 3
    assert one(prod, "PodDisruptionBudget", "api")["spec"]["minAvailable"] >= 2
    for queue in QUEUES:
        so = one(prod, "ScaledObject", f"worker-{queue}")["spec"]
        assert (
            so["maxReplicaCount"] >= one(base, "ScaledObject", f"worker-{queue}")["spec"]["maxReplicaCount"]
        )
    assert one(prod, "PersistentVolumeClaim", "forager-data")["spec"]["accessModes"] == ["ReadWriteMany"]
    images = {c["image"] for w in workloads(prod) for c in all_containers(pod_spec(w))}
    assert any(i.startswith("registry.example.com/forager/forager:") for i in images)


def test_host_socket_variant_differs_only_in_workers() -> None:
    """prod-host-socket is prod with the component: same resources, changed worker pods only."""
    prod = {key(o): o for o in render("prod")}
    variant = {key(o): o for o in render("prod-host-socket")}
    assert prod.keys() == variant.keys()
    changed = {k[2] for k in prod if prod[k] != variant[k]}
    assert changed == {f"worker-{q}" for q in QUEUES}
    for queue in QUEUES:
        spec = pod_spec(variant[("Deployment", "forager", f"worker-{queue}")])
        assert spec["nodeSelector"] == {"forager/docker-engine": "true"}
        assert "docker-graph" not in {v["name"] for v in spec["volumes"]}
