"""Running a command in a fresh, locked-down container from an image, with a time limit."""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import docker
import requests
from docker.models.containers import Container

from forager.config import Settings
from forager.dockerhost import container_labels, get_docker
from forager.errors import TestRunError

RUNNERS_DIR = "/opt/forager/runners"
MAX_LOG_BYTES = 64 * 1024
MAX_REPORT_BYTES = 64 * 1024 * 1024


@dataclass
class RunOutput:
    exit_code: int | None
    timed_out: bool
    seconds: float
    log_tail: str
    files: dict[str, bytes]


def runners_files() -> dict[str, bytes]:
    """The stdlib-only runner scripts by file name."""
    root = resources.files("forager.validate").joinpath("runners")
    return {e.name: e.read_bytes() for e in root.iterdir() if e.name.endswith(".py")}


def runners_tar() -> bytes:
    """The stdlib-only runner scripts, packed for `put_archive`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in ("opt", "opt/forager", "opt/forager/runners"):
            d = tarfile.TarInfo(folder)
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(d)
        root = resources.files("forager.validate").joinpath("runners")
        for entry in root.iterdir():
            if entry.name.endswith(".py"):
                data = entry.read_bytes()
                info = tarfile.TarInfo(f"opt/forager/runners/{entry.name}")
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def run_in_container(
    image: str,
    command: list[str],
    settings: Settings,
    timeout_s: float,
    fetch: list[str] = (),  # type: ignore[assignment]
    env: dict[str, str] | None = None,
    workdir: str = "/repo",
    kind: str = "validation",
    max_fetch_bytes: int = MAX_REPORT_BYTES,
) -> RunOutput:
    """Create, inject runners, start, wait (kill at the limit), collect files, remove."""
    client = get_docker()
    container: Container | None = None
    start = time.monotonic()
    try:
        container = client.containers.create(
            image,
            command=command,
            working_dir=workdir,
            environment={"PYTHONPATH": RUNNERS_DIR, **(env or {})},
            network_mode="none",  # repository code gets no network while it is checked
            mem_limit=settings.container_memory,
            memswap_limit=settings.container_memory,
            pids_limit=settings.container_pids,
            nano_cpus=int(settings.container_cpus * 1e9),
            labels=container_labels(kind, settings.instance),
            # Hostile output must not fill the engine's disk.
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "8m", "max-file": "1"}),
            detach=True,
        )
        container.put_archive("/", runners_tar())
        container.start()
        timed_out = False
        exit_code: int | None
        try:
            exit_code = int(container.wait(timeout=timeout_s)["StatusCode"])
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            timed_out = True
            exit_code = None
            with contextlib.suppress(docker.errors.APIError):
                container.kill()
            container.wait(timeout=60)
        seconds = time.monotonic() - start
        log = container.logs(tail=400)[-MAX_LOG_BYTES:].decode("utf-8", "replace")
        files = {path: _fetch(container, path, max_fetch_bytes) for path in fetch}
        return RunOutput(
            exit_code, timed_out, seconds, log, {k: v for k, v in files.items() if v is not None}
        )
    except docker.errors.ImageNotFound as exc:
        raise TestRunError(f"image {image} does not exist") from exc
    except docker.errors.APIError as exc:
        raise TestRunError(f"container run failed: {exc.explanation or exc}") from exc
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.APIError, docker.errors.NotFound):
                container.remove(force=True)


def _fetch(container: Container, path: str, max_bytes: int) -> bytes | None:
    try:
        stream, stat = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    if stat.get("size", 0) > max_bytes:
        return None
    buf = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=buf) as tar:
        member = tar.getmember(Path(path).name)
        fh = tar.extractfile(member)
        return fh.read() if fh else None
