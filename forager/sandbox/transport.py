"""The host end of the shell server's protocol over a docker attach stream.

Requests go to the container's stdin as length-prefixed JSON frames (4-byte big-endian
length). Replies come back on its stdout, which the engine multiplexes with stderr
(8-byte headers: stream id, 3 zero bytes, big-endian length) because there is no TTY.
The attach stream goes through the engine, so it works for a remote DOCKER_HOST as well;
a closed stream means the server or its container is gone.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import select
import socket
import struct
import threading
import time
from typing import Any

from forager.sandbox.errors import SandboxDeadError

FRAME = struct.Struct(">I")
MUX = struct.Struct(">BxxxI")
STDOUT, STDERR = 1, 2
STDERR_KEEP = 16 * 1024
RECV_CHUNK = 1024 * 1024


def unwrap_socket(obj: Any) -> socket.socket:
    """The socket under what docker-py's `attach_socket` returns (a SocketIO or a socket)."""
    sock = getattr(obj, "_sock", obj)
    if not isinstance(sock, socket.socket):
        raise TypeError(f"attach stream of type {type(obj).__name__} is not a socket")
    return sock


class AttachChannel:
    """Request/response over one attach socket. Thread-safe; one request at a time."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle  # keeps docker-py's response (and TLS state) alive
        self._sock = unwrap_socket(handle)
        self._sock.setblocking(True)
        self._raw = bytearray()  # multiplexed bytes not yet split
        self._out = bytearray()  # the server's stdout: our frames
        self._err = bytearray()  # the server's stderr, kept for diagnostics
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._dead: str | None = None

    @property
    def dead(self) -> str | None:
        """Why the channel is unusable, or None."""
        return self._dead

    @property
    def stderr_tail(self) -> str:
        return self._err[-STDERR_KEEP:].decode("utf-8", "replace")

    def request(self, op: str, wait_s: float, **fields: Any) -> dict[str, Any]:
        """Send one request and wait for its answer; SandboxDeadError on EOF or silence."""
        with self._lock:
            if self._dead is not None:
                raise SandboxDeadError(self._dead)
            rid = next(self._ids)
            body = json.dumps({"id": rid, "op": op, **fields}, separators=(",", ":")).encode()
            try:
                self._sock.sendall(FRAME.pack(len(body)) + body)
                reply = self._read_frame(time.monotonic() + wait_s)
            except OSError as exc:
                self._fail(f"the attach stream broke ({exc})")
            if reply.get("id") != rid:
                self._fail(f"reply id {reply.get('id')!r} does not match request {rid}")
            return reply

    def close(self) -> None:
        self._dead = self._dead or "closed"
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        close = getattr(self._handle, "close", None)
        if callable(close):
            with contextlib.suppress(OSError):
                close()

    def _fail(self, why: str) -> Any:
        self._dead = why
        raise SandboxDeadError(why)

    def _read_frame(self, deadline: float) -> dict[str, Any]:
        while True:
            if len(self._out) >= FRAME.size:
                (size,) = FRAME.unpack_from(self._out)
                if len(self._out) >= FRAME.size + size:
                    body = bytes(self._out[FRAME.size : FRAME.size + size])
                    del self._out[: FRAME.size + size]
                    try:
                        reply = json.loads(body)
                    except ValueError:
                        reply = None
                    if not isinstance(reply, dict):
                        self._fail("the shell server sent a frame that is not a JSON object")
                    return reply
            self._fill(deadline)

    def _fill(self, deadline: float) -> None:
        """Receive more bytes and demultiplex them; raise when the stream ends or stays silent."""
        pending = getattr(self._sock, "pending", None)  # TLS may hold decrypted bytes already
        if not (callable(pending) and pending() > 0):
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self._sock], [], [], wait)[0]:
                self._fail("the shell server did not answer in time")
        chunk = self._sock.recv(RECV_CHUNK)
        if not chunk:
            self._fail("the shell server's stream ended (server or container died)")
        self._raw += chunk
        view = 0
        while len(self._raw) - view >= MUX.size:
            stream, size = MUX.unpack_from(self._raw, view)
            if len(self._raw) - view < MUX.size + size:
                break
            payload = self._raw[view + MUX.size : view + MUX.size + size]
            if stream == STDOUT:
                self._out += payload
            elif stream == STDERR:
                self._err += payload
                del self._err[: -4 * STDERR_KEEP]
            view += MUX.size + size
        del self._raw[:view]
