"""Running a command in a fresh container with the tracer injected beside Forager's runners.

`forager.validate.container_run` injects only the validation runners; this module adds the
trace runtime (`forager/traces/runtime/*.py`) at TRACES_DIR and puts both on PYTHONPATH. The
container settings are the validation's (no network, memory/pids/cpu limits, labels), so a
traced and an untraced run of the same image compare like for like. Fetched files go to disk
(traces can run to hundreds of MB) and log lines stream to a callback while the run goes on.
"""

from __future__ import annotations

import contextlib
import io
import queue
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

import docker
import requests
from docker.models.containers import Container

from forager.config import Settings
from forager.dockerhost import container_labels, get_docker
from forager.traces.errors import TraceError
from forager.validate.container_run import MAX_LOG_BYTES, RUNNERS_DIR, runners_tar

TRACES_DIR = "/opt/forager/traces"
_POLL_S = 1.0


@dataclass
class TracedRun:
    exit_code: int | None
    timed_out: bool
    seconds: float  # the container's whole life: create, start, run, stop
    log_tail: str
    files: dict[str, Path] = field(default_factory=dict)  # container path -> local copy (file or folder)


def runtime_tar() -> bytes:
    """The trace runtime (stdlib-only modules), packed for `put_archive` at `/`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in ("opt", "opt/forager", TRACES_DIR.lstrip("/")):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        root = resources.files("forager.traces").joinpath("runtime")
        for entry in sorted(root.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".py") and entry.name != "__init__.py":
                data = entry.read_bytes()
                info = tarfile.TarInfo(f"{TRACES_DIR.lstrip('/')}/{entry.name}")
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@contextlib.contextmanager
def run_with_tracer(
    image: str,
    command: list[str],
    settings: Settings,
    timeout_s: float,
    fetch: list[str],
    env: dict[str, str] | None = None,
    on_log: Callable[[str], None] | None = None,
    workdir: str = "/repo",
    kind: str = "trace",
    max_fetch_bytes: int = 2 * 1024**3,
) -> Iterator[TracedRun]:
    """Run `command` once; yields the result while the fetched copies exist (then deleted)."""
    client = get_docker()
    container: Container | None = None
    scratch = Path(tempfile.mkdtemp(prefix="forager-trace-"))
    start = time.monotonic()
    try:
        try:
            container = client.containers.create(
                image,
                command=command,
                working_dir=workdir,
                environment={"PYTHONPATH": f"{RUNNERS_DIR}:{TRACES_DIR}", **(env or {})},
                network_mode="none",
                mem_limit=settings.container_memory,
                memswap_limit=settings.container_memory,
                pids_limit=settings.container_pids,
                nano_cpus=int(settings.container_cpus * 1e9),
                labels=container_labels(kind, settings.instance),
                log_config=docker.types.LogConfig(
                    type="json-file", config={"max-size": "8m", "max-file": "1"}
                ),
                detach=True,
            )
            container.put_archive("/", runners_tar())
            container.put_archive("/", runtime_tar())
            container.start()
            exit_code, timed_out = _wait(container, start + timeout_s, on_log)
            seconds = time.monotonic() - start
            log = container.logs(tail=400)[-MAX_LOG_BYTES:].decode("utf-8", "replace")
            files: dict[str, Path] = {}
            for index, path in enumerate(fetch):
                local = _fetch(container, path, scratch / str(index), max_fetch_bytes)
                if local is not None:
                    files[path] = local
        except docker.errors.ImageNotFound as exc:
            raise TraceError(f"image {image} does not exist") from exc
        except docker.errors.APIError as exc:
            raise TraceError(f"container run failed: {exc.explanation or exc}") from exc
        finally:
            if container is not None:
                with contextlib.suppress(docker.errors.APIError, docker.errors.NotFound):
                    container.remove(force=True)
        yield TracedRun(exit_code, timed_out, seconds, log, files)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _wait(
    container: Container, deadline: float, on_log: Callable[[str], None] | None
) -> tuple[int | None, bool]:
    """Wait for the exit (killing at the deadline), passing log lines on as they come."""
    lines: queue.Queue[str] = queue.Queue()
    if on_log is not None:
        threading.Thread(target=_follow, args=(container, lines), daemon=True).start()
    exit_code: int | None = None
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        try:
            exit_code = int(container.wait(timeout=max(0.1, min(_POLL_S, remaining)))["StatusCode"])
            break
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            pass
        finally:
            _drain(lines, on_log)
        if remaining <= 0:
            timed_out = True
            with contextlib.suppress(docker.errors.APIError):
                container.kill()
            container.wait(timeout=60)
            break
    time.sleep(0.05)  # let the follower hand over the last lines
    _drain(lines, on_log)
    return exit_code, timed_out


def _follow(container: Container, lines: queue.Queue[str]) -> None:
    # Runs in its own thread so the main thread alone talks to the reporter.
    with contextlib.suppress(Exception):
        pending = b""
        for chunk in container.logs(stream=True, follow=True):
            pending += chunk
            *done, pending = pending.split(b"\n")
            for raw in done:
                lines.put(raw.decode("utf-8", "replace"))


def _drain(lines: queue.Queue[str], on_log: Callable[[str], None] | None) -> None:
    while on_log is not None:
        try:
            on_log(lines.get_nowait())
        except queue.Empty:
            return


def _fetch(container: Container, path: str, dest: Path, limit: int) -> Path | None:
    """Copy a file or folder out of the (stopped) container into `dest`; None if it is absent
    or over `limit` bytes. Returns the local copy."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / ".fetch.tar"
    size = 0
    with archive.open("wb") as fh:
        for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            fh.write(chunk)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or member.name.startswith("/") or ".." in parts:
                continue  # only plain files, and never outside dest
            source = tar.extractfile(member)
            if source is None:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
    archive.unlink()
    local = dest / PurePosixPath(path).name
    return local if local.exists() else None
