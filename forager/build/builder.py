"""Building an image through the Docker SDK with a time limit and a streamed log."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import docker
from docker.errors import APIError, DockerException

from forager.dockerhost import LABEL_KIND, LABEL_MANAGED, get_docker
from forager.errors import BuildError

_STEP = re.compile(r"^Step \d+/\d+ : ")


@dataclass
class BuildResult:
    ok: bool
    image_id: str | None
    log: str
    seconds: float
    error: str | None = None
    timed_out: bool = False
    cached_steps: int = 0
    steps: int = 0
    lines: list[str] = field(default_factory=list, repr=False)


def build_image(
    context: IO[bytes],
    tag: str,
    timeout_s: float,
    on_log: Callable[[str], None] | None = None,
    labels: dict[str, str] | None = None,
) -> BuildResult:
    """Build `tag` from a tar context. Never raises for a failing Dockerfile: see `ok`/`error`."""
    get_docker()  # fails clearly when the engine is down
    # A client of its own: closing its socket is how a timed-out build is cancelled.
    # (The SDK keeps its streaming helpers private; their stubs do not list them.)
    api: Any = docker.from_env().api
    lines: list[str] = []
    state: dict[str, Any] = {"image_id": None, "error": None, "resp": None}
    start = time.monotonic()

    def emit(text: str) -> None:
        for line in text.splitlines():
            lines.append(line)
            if on_log:
                on_log(line)

    def run() -> None:
        try:
            params = {
                "t": tag,
                "rm": True,
                "forcerm": True,
                "q": False,
                "nocache": False,
                "labels": _json({LABEL_MANAGED: "1", LABEL_KIND: "environment", **(labels or {})}),
            }
            resp = api._post(
                api._url("/build"),
                data=context,
                params=params,
                headers={"Content-Type": "application/tar"},
                stream=True,
                timeout=None,
            )
            state["resp"] = resp
            api._raise_for_status(resp)
            for chunk in api._stream_helper(resp, decode=True):
                if "stream" in chunk:
                    emit(chunk["stream"])
                elif "error" in chunk:
                    state["error"] = chunk["error"].strip()
                    emit(chunk["error"])
                elif "aux" in chunk and "ID" in chunk["aux"]:
                    state["image_id"] = chunk["aux"]["ID"]
        except (APIError, DockerException, OSError, ValueError) as exc:
            if state["error"] is None:
                state["error"] = f"build request failed: {exc}"

    worker = threading.Thread(target=run, name=f"build-{tag}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    timed_out = worker.is_alive()
    if timed_out:
        _abort(state.get("resp"))
        api.close()
        worker.join(30)
        state["error"] = f"build timed out after {timeout_s:.0f} s"
        emit(state["error"])
    api.close()
    seconds = time.monotonic() - start
    text = "\n".join(lines)
    steps = sum(1 for ln in lines if _STEP.match(ln))
    cached = sum(1 for ln in lines if "Using cache" in ln)
    image_id = state["image_id"]
    if image_id is None and state["error"] is None:
        m = re.search(r"Successfully built ([0-9a-f]{12,})", text)
        image_id = m.group(1) if m else None
        if image_id is None:
            state["error"] = "the build ended without an image"
    ok = state["error"] is None and image_id is not None
    return BuildResult(
        ok=ok,
        image_id=image_id if ok else None,
        log=text,
        seconds=seconds,
        error=state["error"],
        timed_out=timed_out,
        cached_steps=cached,
        steps=steps,
        lines=lines,
    )


def _abort(resp: Any) -> None:
    """Shut the streaming socket: the engine sees the client go and cancels the build."""
    if resp is None:
        return
    with contextlib.suppress(Exception):
        sock = resp.raw._fp.fp.raw._sock
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        resp.close()


def _json(d: dict[str, str]) -> str:
    import json

    return json.dumps(d)


def remove_image(ref: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound, APIError):
        get_docker().images.remove(ref, noprune=False)


def require_image(ref: str) -> None:
    try:
        get_docker().images.get(ref)
    except docker.errors.ImageNotFound as exc:
        raise BuildError(
            f"base image {ref} is not present; build it with `forager images bootstrap` "
            f"or set FORAGER_BASE_IMAGES to images you have"
        ) from exc
