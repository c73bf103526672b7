"""Container lifecycle of sandboxes: start, health, stop, sweep orphans by label.

Command execution lives in `session` (the client) and `server/forager_shell.py` (inside the
container); this module only knows containers. The shell server is copied in with
`put_archive` before the container starts, so any image with bash and Python 3.9+ works.
"""

from __future__ import annotations

import contextlib
import io
import re
import tarfile
import time
import uuid
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

import docker
import requests
from docker.models.containers import Container

from forager.dockerhost import LABEL_KIND, LABEL_MANAGED, get_docker
from forager.sandbox.config import SandboxConfig
from forager.sandbox.errors import SandboxDeadError, SandboxStartError
from forager.sandbox.session import Sandbox
from forager.sandbox.transport import AttachChannel

HELPER_DIR = "/opt/forager/sandbox"
HELPER_NAME = "forager_shell.py"
LABEL_EPISODE = "forager.episode"
KIND = "sandbox"
_API_ERRORS = (docker.errors.APIError, requests.exceptions.RequestException)


@lru_cache(maxsize=1)
def helper_tar() -> bytes:
    """The shell server at HELPER_DIR, packed for `put_archive` at `/`.

    Only the file: the engine creates missing parent folders, and existing ones keep theirs.
    """
    data = resources.files("forager.sandbox.server").joinpath(HELPER_NAME).read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(f"{HELPER_DIR.strip('/')}/{HELPER_NAME}")
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def container_name(episode_id: str) -> str:
    """A unique, Docker-valid name that names the episode."""
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", episode_id).strip("-.")[:60] or "episode"
    return f"forager-sbx-{slug}-{uuid.uuid4().hex[:6]}"


def create_container(
    image: str, config: SandboxConfig, episode_id: str, client: docker.DockerClient
) -> Container:
    """Create (not start) the container, with the shell server copied in."""
    labels = {**config.labels, LABEL_MANAGED: "1", LABEL_KIND: KIND, LABEL_EPISODE: episode_id}
    log_opts = {} if config.log_driver == "none" else {"max-size": config.log_max_size}
    try:
        container = client.containers.create(
            image,
            entrypoint=[config.python, "-I", f"{HELPER_DIR}/{HELPER_NAME}"],
            name=container_name(episode_id),
            working_dir=config.workdir,
            user=config.user,
            environment=config.env,
            stdin_open=True,  # the protocol's request stream
            tty=False,  # a TTY would mangle binary frames
            init=True,  # reaps orphans; its exit follows the server's, which ends the stream
            network_mode=config.network_mode,
            mem_limit=config.memory,
            memswap_limit=config.memory,
            pids_limit=config.pids_limit,
            nano_cpus=int(config.cpus * 1e9),
            labels=labels,
            log_config=docker.types.LogConfig(type=config.log_driver, config=log_opts),
        )
    except docker.errors.ImageNotFound as exc:
        raise SandboxStartError(f"image {image} does not exist locally") from exc
    except _API_ERRORS as exc:
        raise SandboxStartError(f"cannot create a sandbox from {image}: {exc}") from exc
    try:
        container.put_archive("/", helper_tar())
    except _API_ERRORS as exc:
        remove_container(container)
        raise SandboxStartError(f"cannot copy the shell server into {container.name}: {exc}") from exc
    return container


def start_sandbox(
    image: str,
    config: SandboxConfig | None = None,
    episode_id: str | None = None,
    client: docker.DockerClient | None = None,
) -> Sandbox:
    """Create, attach, start and check one sandbox; the container is removed on any failure."""
    config = config or SandboxConfig()
    client = client or get_docker()
    episode_id = episode_id or f"adhoc-{uuid.uuid4().hex[:8]}"
    container = create_container(image, config, episode_id, client)
    sandbox: Sandbox | None = None
    try:
        # Attach before start so nothing the server writes (even a crash at start) is lost.
        handle = client.api.attach_socket(
            str(container.id), params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        sandbox = Sandbox(AttachChannel(handle), config, container, episode_id)
        container.start()
        sandbox.ping(timeout_s=config.start_timeout_s)
        return sandbox
    except (SandboxDeadError, *_API_ERRORS, TypeError) as exc:
        why = _describe(container)
        if sandbox is not None:
            why += f"; server stderr: {sandbox.stderr_tail.strip()[-2000:]!r}"
        _discard(sandbox, container)
        raise SandboxStartError(f"sandbox from {image} did not start ({exc}); {why}") from exc
    except BaseException:  # e.g. KeyboardInterrupt: no container may be left behind
        _discard(sandbox, container)
        raise


def _discard(sandbox: Sandbox | None, container: Container) -> None:
    if sandbox is not None:
        sandbox.close()
    else:
        remove_container(container)


def is_healthy(sandbox: Sandbox) -> bool:
    """The container runs and the shell server answers a ping."""
    try:
        sandbox.container.reload()
    except _API_ERRORS:
        return False
    return sandbox.container.status == "running" and sandbox.alive()


def remove_container(container: Container) -> None:
    """Kill and remove, ignoring a container that is already gone."""
    with contextlib.suppress(docker.errors.NotFound, *_API_ERRORS):
        container.remove(force=True)


@contextlib.contextmanager
def sandbox_session(
    image: str,
    config: SandboxConfig | None = None,
    episode_id: str | None = None,
    client: docker.DockerClient | None = None,
) -> Iterator[Sandbox]:
    """`with sandbox_session(image) as sb:`: the container is removed however the block ends."""
    sandbox = start_sandbox(image, config, episode_id, client)
    try:
        yield sandbox
    finally:
        sandbox.close()


def sweep_orphans(
    max_age_s: float,
    client: docker.DockerClient | None = None,
    labels: dict[str, str] | None = None,
) -> list[str]:
    """Remove sandbox containers created more than `max_age_s` ago; return their names.

    Pick `max_age_s` above the longest episode plus the pool's idle limit: age is all that
    tells an orphan (its owner crashed) from a live sandbox. `labels` narrows the sweep.
    """
    client = client or get_docker()
    wanted = {**(labels or {}), LABEL_MANAGED: "1", LABEL_KIND: KIND}
    filters = {"label": [f"{k}={v}" for k, v in wanted.items()]}
    now = time.time()
    removed = []
    # sparse: the list endpoint's data (Created is epoch seconds), no inspect per container.
    for container in client.containers.list(all=True, sparse=True, filters=filters):
        created = float(container.attrs.get("Created", now))
        if now - created >= max_age_s:
            names = container.attrs.get("Names") or [container.id]
            remove_container(container)
            removed.append(str(names[0]).lstrip("/"))
    return removed


def _describe(container: Container) -> str:
    try:
        container.reload()
    except _API_ERRORS:
        return "container is gone"
    state = container.attrs.get("State", {})
    return (
        f"container {container.name} is {state.get('Status')} "
        f"(exit code {state.get('ExitCode')}, OOM killed {state.get('OOMKilled')})"
    )
