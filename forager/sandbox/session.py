"""The host-side client of one sandbox: run commands, read and write files."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import docker
import requests
from docker.models.containers import Container

from forager.sandbox.config import SandboxConfig
from forager.sandbox.errors import SandboxDeadError, SandboxOpError
from forager.sandbox.models import CommandResult
from forager.sandbox.transport import AttachChannel

PING_TIMEOUT_S = 5.0
FILE_TIMEOUT_S = 60.0


class Sandbox:
    """A running container with its shell server. Made by `lifecycle.start_sandbox`.

    Any sign that the server or the container died raises SandboxDeadError; nothing waits
    longer than a command's limit plus `config.answer_margin_s`.
    """

    def __init__(
        self, channel: AttachChannel, config: SandboxConfig, container: Container, episode_id: str
    ) -> None:
        self.channel = channel
        self.config = config
        self.container = container
        self.episode_id = episode_id
        self.closed = False

    @property
    def stderr_tail(self) -> str:
        """What the shell server wrote to stderr lately (tracebacks on a crash)."""
        return self.channel.stderr_tail

    # -- commands -------------------------------------------------------------------------
    def run(self, cmd: str, timeout_s: float | None = None) -> CommandResult:
        """Run `cmd` with `bash -c` in the session's directory and environment."""
        cfg = self.config
        timeout = cfg.default_timeout_s if timeout_s is None else timeout_s
        store_head = cfg.store_max_bytes // 2
        reply = self._call(
            "run",
            timeout + cfg.answer_margin_s,
            cmd=cmd,
            timeout_s=timeout,
            store_head=store_head,
            store_tail=cfg.store_max_bytes - store_head,
        )
        head = base64.b64decode(reply["head"])
        tail = base64.b64decode(reply["tail"])
        total = int(reply["total"])
        stored_gap = total - len(head) - len(tail)
        stored = head + _marker(stored_gap).encode() + tail if stored_gap else head + tail
        shown, shown_cut = _shown(head, tail, total, cfg.show_head_bytes, cfg.show_tail_bytes)
        return CommandResult(
            output=shown,
            stored_output=stored,
            output_bytes=total,
            exit_code=int(reply["exit_code"]),
            duration_ms=float(reply["duration_ms"]),
            truncated=shown_cut,
            stored_truncated=stored_gap > 0,
            timed_out=bool(reply["timed_out"]),
            cwd=str(reply["cwd"]),
        )

    def read_file(self, path: str, max_bytes: int = 32 * 1024 * 1024) -> bytes:
        """A file's bytes (relative paths start at the session's directory)."""
        reply = self._call("read_file", FILE_TIMEOUT_S, path=path, max_bytes=max_bytes)
        return base64.b64decode(reply["data"])

    def write_file(self, path: str, data: bytes | str, mode: int | None = None) -> None:
        """Create or replace a file, with its parent directories."""
        raw = data.encode() if isinstance(data, str) else data
        self._call("write_file", FILE_TIMEOUT_S, path=path, data=base64.b64encode(raw).decode(), mode=mode)

    def ping(self, timeout_s: float = PING_TIMEOUT_S) -> dict[str, Any]:
        return self._call("ping", timeout_s)

    def alive(self) -> bool:
        """The server answers (a ping, ~1 ms); never raises."""
        if self.closed or self.channel.dead:
            return False
        try:
            self.ping()
        except SandboxDeadError:
            return False
        return True

    # -- end ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the server and remove the container; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.channel.close()
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError, requests.RequestException):
            self.container.remove(force=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, op: str, wait_s: float, **fields: Any) -> dict[str, Any]:
        if self.closed:
            raise SandboxDeadError(f"sandbox {self.container.name} is closed")
        try:
            reply = self.channel.request(op, wait_s, **fields)
        except SandboxDeadError as exc:
            raise SandboxDeadError(f"sandbox {self.container.name}: {exc}{self._stderr_note()}") from exc
        if not reply.get("ok"):
            raise SandboxOpError(str(reply.get("error", "unknown error")), reply.get("errno"))
        return reply

    def _stderr_note(self) -> str:
        tail = self.stderr_tail.strip()
        return f"; server stderr: {tail[-1000:]!r}" if tail else ""


def _marker(omitted: int) -> str:
    return f"\n[... {omitted} bytes omitted ...]\n"


def _shown(head: bytes, tail: bytes, total: int, show_head: int, show_tail: int) -> tuple[str, bool]:
    """Head + marker + tail of the output for the policy; bytes are decoded leniently."""
    if total <= show_head + show_tail:
        # Everything fits, so it was all stored (the config keeps shown within stored).
        return (head + tail).decode("utf-8", "replace"), False
    joined = head + tail  # when bytes were dropped, they lie between head and tail
    first = head[:show_head]
    last = joined[len(joined) - show_tail :] if show_tail else b""
    omitted = total - len(first) - len(last)
    text = first.decode("utf-8", "replace") + _marker(omitted) + last.decode("utf-8", "replace")
    return text, True
