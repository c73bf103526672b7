"""docker-compose.yml: the services of the contract, their order of start, health, limits, the
Docker socket on workers only, and secrets kept in .env. Checked structurally with PyYAML;
`docker compose config` also checks it where the Compose plugin is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import DEPLOY, QUEUES, REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
WORKERS = {f"worker-{q}": q for q in QUEUES}
APP = {"migrate", "api", "beat", "flower", *WORKERS}
SERVICES = APP | {"redis", "postgres", "vllm"}
LONG_RUNNING = SERVICES - {"migrate"}
SOCKET = "/var/run/docker.sock"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|PEPPER|TOKEN|API_KEY|BASIC_AUTH|DATABASE_URL", re.I)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"compose.env.example: not NAME=value: {line!r}"
            values[name.strip()] = value
    return values


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${...} substitution, for checking what a value becomes with the example .env."""

    def sub(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        current = env.get(name)
        if op in (":-", "-"):
            return current if current or (op == "-" and current is not None) else arg
        if op in (":?", "?"):
            assert current, f"${{{name}}} is required: {arg}"
        return current or ""

    return REFERENCE.sub(sub, value)


def test_services(services: dict) -> None:
    assert set(services) == SERVICES


def test_app_services_share_one_image_built_here(services: dict) -> None:
    images = {services[s]["image"] for s in APP}
    assert len(images) == 1
    for name in APP:
        assert services[name]["build"]["context"] == "."
        assert "BASE_IMAGE" in services[name]["build"]["args"]
        assert services[name]["env_file"] == ".env", name


def test_commands(services: dict) -> None:
    assert services["api"]["command"] == ["uvicorn", "api.app:app", "--host", "0.0.0.0", "--port", "8000"]
    assert services["migrate"]["command"] == ["forager", "db", "upgrade"]
    assert services["beat"]["command"] == ["celery", "-A", "workers.app", "beat"]
    assert services["flower"]["command"] == ["celery", "-A", "workers.app", "flower", "--port=5555"]
    example = env_example()
    for name, queue in WORKERS.items():
        cmd = services[name]["command"]
        assert cmd[:6] == ["celery", "-A", "workers.app", "worker", "-Q", queue]
        assert cmd[6] == "--concurrency" and int(interpolate(cmd[7], example)) >= 1
        assert cmd[8:] == ["--loglevel", "INFO"]


def test_start_order(services: dict) -> None:
    """The schema is migrated (one-shot, exit 0) before the API and workers start; everything
    waits for healthy datastores."""
    for name in ["api", *WORKERS]:
        deps = services[name]["depends_on"]
        assert deps["migrate"] == {"condition": "service_completed_successfully"}, name
        assert deps["postgres"] == {"condition": "service_healthy"}, name
        assert deps["redis"] == {"condition": "service_healthy"}, name
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("beat", "flower"):
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
    # Nothing depends on the optional GPU service: the stack starts without its profile.
    for name, svc in services.items():
        assert "vllm" not in svc.get("depends_on", {}), name


def test_health_restart_and_limits(services: dict) -> None:
    for name in LONG_RUNNING:
        svc = services[name]
        check = svc["healthcheck"]["test"]
        assert check[0] in ("CMD", "CMD-SHELL") and len(check) > 1, name
        assert svc["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"
    assert "healthcheck" not in services["migrate"]
    for name, svc in services.items():
        limits = svc["deploy"]["resources"]["limits"]
        assert "memory" in limits, name
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    for name in WORKERS:
        assert "inspect ping" in services[name]["healthcheck"]["test"][1]
        # Long enough for Celery's warm shutdown to finish running jobs.
        assert services[name]["stop_grace_period"] == "10m"


def test_datastores(compose: dict, services: dict) -> None:
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in postgres["healthcheck"]["test"][1]
    for svc, mount in (("redis", "redis-data:/data"), ("postgres", "postgres-data:/var/lib/postgresql/data")):
        assert mount in services[svc]["volumes"], svc
        assert mount.split(":")[0] in compose["volumes"]
    example = env_example()
    url = interpolate(services["api"]["environment"]["FORAGER_REDIS_URL"], example)
    assert url == "redis://redis:6379/0"
    database = example["FORAGER_DATABASE_URL"]
    assert database.startswith("postgresql+psycopg://forager:") and "@postgres:5432/forager" in database


def test_vllm_is_optional_and_serves_the_policy(services: dict) -> None:
    vllm = services["vllm"]
    assert vllm["profiles"] == ["gpu"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    args = vllm["command"]
    assert args[args.index("--model") + 1]
    assert args[args.index("--served-model-name") + 1] == "policy"
    assert "--enable-auto-tool-choice" in args
    assert args[args.index("--tool-call-parser") + 1] == "hermes"
    assert args[args.index("--port") + 1] == "8000"
    (device,) = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"] and device["count"] >= 1
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    example = env_example()
    for name in APP:
        env = environment(services[name])
        assert interpolate(env["FORAGER_POLICY_BASE_URL"], example) == "http://vllm:8000/v1"
        assert interpolate(env["FORAGER_POLICY_MODEL"], example) == "policy"
    for name, svc in services.items():
        if name != "vllm":
            assert "profiles" not in svc, f"{name} must start without a profile"


def test_docker_socket_on_workers_only(services: dict) -> None:
    for name, svc in services.items():
        mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in svc.get("volumes", [])]
        has_socket = any(m.split(":")[1] == SOCKET for m in mounts)
        assert has_socket == (name in WORKERS), name
        # Workers use the SDK's default, the mounted socket; nobody else gets an engine.
        assert "DOCKER_HOST" not in environment(svc), name
        assert not svc.get("privileged"), name
    for name in WORKERS:
        assert services[name]["group_add"] == ["${DOCKER_GID:-999}"]
        assert "forager-data:/data" in services[name]["volumes"]


def test_no_secret_inline(services: dict) -> None:
    """Secret values come from .env (env_file or ${VAR}); none is written in the compose file."""
    for name, svc in services.items():
        for var, value in environment(svc).items():
            if SECRET_NAME.search(var):
                assert REFERENCE.fullmatch(value), f"{name}.{var} holds a literal secret"
    example = env_example()
    for secret in (
        "POSTGRES_PASSWORD",
        "FORAGER_DATABASE_URL",
        "FORAGER_API_KEYS_PEPPER",
        "FLOWER_BASIC_AUTH",
    ):
        assert "change-me" in example[secret], f"{secret} in the example must be a placeholder"


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_every_variable_is_documented(compose: dict) -> None:
    """Each ${VAR} the compose file reads appears in deploy/compose.env.example, and the
    required ones (no default) have a value there."""
    example = env_example()
    used = [m for text in _strings(compose) for m in REFERENCE.finditer(text)]
    assert len(used) > 10
    for m in used:
        name, op = m.group(1), m.group(2)
        assert name in example, f"${{{name}}} is not in {ENV_EXAMPLE.name}"
        if op in (None, ":?", "?"):
            assert example[name], f"${{{name}}} has no default and no value in {ENV_EXAMPLE.name}"


def test_env_file_stays_out_of_the_image() -> None:
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def _compose_plugin() -> list[str] | None:
    """A Compose v2 command line, if one is installed (v1 predates parts of the spec used)."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cli in candidates:
        version = subprocess.run([*cli, "version", "--short"], capture_output=True, text=True)
        if version.returncode == 0 and version.stdout.strip().lstrip("v").startswith("2"):
            return cli
    return None


def test_docker_compose_config_when_available(tmp_path: Path) -> None:
    """`docker compose config` resolves the file with the example .env (all profiles)."""
    cli = _compose_plugin()
    if cli is None:
        # No Compose here: the structural tests above are the check.
        return
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE.read_text())
    result = subprocess.run(
        [*cli, "--profile", "gpu", "config", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
