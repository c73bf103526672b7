#!/usr/bin/env python3
"""Forager's in-container shell server: stdlib only, Python 3.9+.

It is copied into a sandbox container and run as its main process. Requests and responses
are length-prefixed JSON frames (4-byte big-endian length, then UTF-8 JSON) on the
process's stdin/stdout, which the host reaches through a docker attach stream.

Each command runs in a fresh `bash -c` process with its own session and process group,
started ahead of time (see `Shell`) so that a trivial step costs about a millisecond.
Working directory and exported variables carry over: an EXIT trap writes `$PWD` and
`export -p` to a side pipe, and the next bash starts from them. Output (stdout and stderr
merged) is read as bytes; only a head and a tail are kept, with the total count. At the
time limit, or when children still hold the output pipe after bash exits, the whole process
group is killed with SIGKILL.

Ops: ping, run, read_file, write_file, shutdown. The server exits when its stdin closes.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import platform
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
from typing import Any

PROTOCOL = 1
HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
READ_CHUNK = 256 * 1024
# After bash exits, how long output may still arrive from children that hold the pipe
# before the command's process group is killed (a fork bomb ends this way too).
PIPE_GRACE_S = 0.1
# Upper bound on draining output after kills (processes that left the group may hold it).
DRAIN_LIMIT_S = 2.0
POLL_S = 0.01  # only when pidfd_open is unavailable
DEFAULT_MAX_READ = 32 * 1024 * 1024
SPARE_SHELLS = 2  # bashes kept waiting for the next commands (see Shell)
SPAWN_RETRY_S = 3.0
SKIP_VARS = {"_", "SHLVL", "PWD"}


def _bootstrap(trigger: int, script: int, state: int) -> str:
    """The `bash -c` program of a shell started ahead of its command.

    It waits for one byte on `trigger`, reads the command from the `script` file (buffered:
    a pipe would be read byte by byte) and evals it. The EXIT trap then writes `$PWD` and
    `export -p` to `state`; builtins only, so no extra fork (`export -p` costs ~0.1 ms, a
    loop over all variables ~1 ms, `env -0` a fork+exec). A command that installs its own
    EXIT trap or `exec`s keeps the previous directory and environment.
    """
    trap = (
        '__forager_rc=$?; { builtin printf "%s\\0" "$PWD"; builtin export -p; } >&'
        + str(state)
        + " 2>/dev/null; builtin exit $__forager_rc"
    )
    # One line, so that `eval` numbers the command's lines from 1 in error messages.
    return (
        # The OOM killer should pick the command, never this server (raising is unprivileged).
        "builtin echo 500 >/proc/self/oom_score_adj 2>/dev/null; "
        f"IFS= builtin read -r -n 1 __forager_go <&{trigger} || builtin exit 111; "
        f"builtin mapfile -d '' __forager_cmd <&{script}; "
        f"exec {trigger}<&- {script}<&-; "
        "builtin unset __forager_go; "
        f"builtin trap '{trap}' EXIT; "
        'builtin eval "${__forager_cmd[0]-}"'
    )


_ANSI = {
    ord("a"): 7, ord("b"): 8, ord("e"): 27, ord("E"): 27, ord("f"): 12, ord("n"): 10,
    ord("r"): 13, ord("t"): 9, ord("v"): 11, ord("\\"): 92, ord("'"): 39, ord('"'): 34, ord("?"): 63,
}  # fmt: skip
_HEX = frozenset(b"0123456789abcdefABCDEF")
_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def parse_export_p(text: bytes) -> dict[bytes, bytes]:
    """Exported variables from bash's `export -p` output (any bash from 4 on).

    Lines are `declare -FLAGS NAME="v"` (or `export NAME="v"` in POSIX mode); a value is
    double-quoted with \\ escapes for `"`, `\\`, `$` and backquote, or (bash 5.2, control
    characters) ANSI-C quoted `$'...'`. Exported variables without a value are left out.
    """
    env: dict[bytes, bytes] = {}
    i, n = 0, len(text)
    while i < n:
        if text.startswith(b"declare -", i):
            i = text.index(b" ", i + 9) + 1
        elif text.startswith(b"export ", i):
            i += 7
        else:
            raise ValueError(f"unexpected export -p output at {i}")
        j = i
        while j < n and text[j] in _NAME_CHARS:
            j += 1
        name = text[i:j]
        if j >= n or text[j] == 10:  # exported but unset
            i = j + 1
            continue
        if text[j] != 61:  # "="
            raise ValueError(f"unexpected character after {name!r}")
        value, i = _parse_value(text, j + 1)
        env[name] = value
        if i < n and text[i] == 10:
            i += 1
    return env


def _parse_value(text: bytes, i: int) -> tuple[bytes, int]:
    out = bytearray()
    if text.startswith(b'"', i):
        i += 1
        while True:
            c = text[i]
            if c == 34:
                return bytes(out), i + 1
            if c == 92 and text[i + 1] in b'"\\$`':
                out.append(text[i + 1])
                i += 2
            else:
                out.append(c)
                i += 1
    if text.startswith(b"$'", i):
        i += 2
        while True:
            c = text[i]
            if c == 39:
                return bytes(out), i + 1
            if c != 92:
                out.append(c)
                i += 1
                continue
            e = text[i + 1]
            if e in _ANSI:
                out.append(_ANSI[e])
                i += 2
            elif 48 <= e <= 55:  # \\NNN octal, up to three digits
                j = i + 1
                while j < i + 4 and 48 <= text[j] <= 55:
                    j += 1
                out.append(int(text[i + 1 : j], 8) & 0xFF)
                i = j
            elif e == ord("x"):
                j = i + 2
                while j < i + 4 and text[j] in _HEX:
                    j += 1
                out.append(int(text[i + 2 : j], 16))
                i = j
            else:
                out += text[i : i + 2]
                i += 2
    # Unquoted (bash does not write this; kept for safety): up to the end of the line.
    j = text.find(b"\n", i)
    if j < 0:
        j = len(text)
    return text[i:j], j


class Sink:
    """Keeps the first `head_cap` and the last `tail_cap` bytes of a stream, and its length."""

    def __init__(self, head_cap: int, tail_cap: int) -> None:
        self.head_cap = max(0, head_cap)
        self.tail_cap = max(0, tail_cap)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_cap:
            self.tail += data
            # Trim only when twice the cap: amortized O(1) per byte.
            if len(self.tail) > 2 * self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    def tail_bytes(self) -> bytes:
        return bytes(self.tail[-self.tail_cap :]) if self.tail_cap else b""


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies do not count: init reaps them)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # state ppid pgrp ...
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            return True
    return False


def _kill_group(pgid: int) -> None:
    # Repeat until no member runs: a fork in flight may add a member after a signal.
    for _ in range(500):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        if not _group_alive(pgid):
            return
        time.sleep(0.002)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Child:
    """A forked child: the small part of `subprocess.Popen` needed here."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        while self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
            except InterruptedError:
                continue
            else:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def _spawn_bash(script: str, cwd: str, env: dict[str, str], out_w: int, keep: tuple[int, ...]) -> Child:
    """posix_spawn (vfork + exec): the parent waits only for the exec (~0.2 ms), not for a
    copy of its page tables as after fork (~1 ms here), and bash loads in parallel.
    posix_spawn has no portable chdir action: the child inherits this process's directory
    (the server is single-threaded and resolves its own paths against the session's)."""
    argv = ["bash", "-c", script]
    os.chdir(cwd)
    for fd in keep:
        os.set_inheritable(fd, True)
    try:
        pid = os.posix_spawn(
            BASH,
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, out_w, 2),
            ],
            setsid=True,  # own session and process group, killed as a whole
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # Python ignores these; bash must not
        )
    finally:
        for fd in keep:
            os.set_inheritable(fd, False)
    return Child(pid)


BASH = shutil.which("bash") or "/bin/bash"


class Waiting:
    """A bash started with the session's directory and environment, waiting for a command."""

    def __init__(self, cwd: str, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env  # without PWD: compared with the session's after a command
        self.out_r = self.st_r = self.trig_w = self.script = -1
        self.out_r, out_w = os.pipe()
        st_w = trig_r = -1
        try:
            self.st_r, st_w = os.pipe()
            trig_r, self.trig_w = os.pipe()
            self.script = _script_file()
            bootstrap = _bootstrap(trig_r, self.script, st_w)
            self.proc = _spawn_bash(bootstrap, cwd, dict(env, PWD=cwd), out_w, (st_w, trig_r, self.script))
        except OSError:
            self.close()
            raise
        finally:
            for fd in (out_w, st_w, trig_r):
                if fd >= 0:
                    os.close(fd)

    def start(self, cmd: str) -> None:
        data = cmd.encode("utf-8", "surrogateescape")
        os.ftruncate(self.script, 0)
        os.pwrite(self.script, data, 0)
        os.lseek(self.script, 0, os.SEEK_SET)  # the offset is shared with bash's descriptor
        os.write(self.trig_w, b"g")
        os.close(self.trig_w)
        self.trig_w = -1

    def close(self) -> None:
        for name in ("out_r", "st_r", "trig_w", "script"):
            fd = getattr(self, name, -1)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


def _script_file() -> int:
    try:
        return os.memfd_create("forager-cmd", os.MFD_CLOEXEC)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        fh = tempfile.TemporaryFile()  # noqa: SIM115 - only its descriptor is kept
        fd = os.dup(fh.fileno())
        fh.close()
        return fd


class Shell:
    """The session: directory, exported variables, and bash processes waiting for commands.

    SPARE_SHELLS bashes for the current state are started (forked, ~0.5 ms) after each reply,
    so a command never waits for bash to load (~1-3 ms), even when requests come back to
    back. A command that changes the state (`cd`, `export`) makes them stale: they are
    replaced after its reply.
    """

    def __init__(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if k not in SKIP_VARS}
        self.cwd = os.getcwd()
        self.spares: list[Waiting] = []
        self._last_state = b""

    def prepare(self, want: int = SPARE_SHELLS) -> None:
        """Have `want` bashes for the current state waiting; drop stale or dead ones."""
        cwd = self.cwd if os.path.isdir(self.cwd) else "/"
        fresh = [w for w in self.spares if w.proc.poll() is None and w.cwd == cwd and w.env == self.env]
        for w in self.spares:
            if w not in fresh:
                self._drop(w)
        self.spares = fresh
        while len(self.spares) < want:
            try:
                self.spares.append(Waiting(cwd, self.env))
            except OSError:
                return  # e.g. EAGAIN under the pids limit: `run` tries again

    def discard(self) -> None:
        for w in self.spares:
            self._drop(w)
        self.spares = []

    def _take_shell(self) -> Waiting:
        # Processes of a killed fork bomb count against the pids limit until init reaps
        # them: retry for a moment before reporting failure.
        give_up = time.monotonic() + SPAWN_RETRY_S
        while True:
            self.prepare(want=1)
            if self.spares:
                return self.spares.pop(0)
            if time.monotonic() >= give_up:
                raise OSError(errno.EAGAIN, "no process can be started (pids limit reached?)")
            time.sleep(0.05)

    @staticmethod
    def _drop(w: Waiting) -> None:
        w.close()  # bash reads EOF on its trigger and exits
        w.proc.wait()

    # -- run ------------------------------------------------------------------------------
    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = str(req["cmd"])
        timeout_s = float(req.get("timeout_s", 60.0))
        sink = Sink(int(req.get("store_head", 512 * 1024)), int(req.get("store_tail", 512 * 1024)))
        try:
            shell = self._take_shell()
        except OSError as exc:
            # EAGAIN under the pids limit: a failed command, not a crash of the server.
            return {"ok": False, "error": f"cannot start bash: {exc}", "errno": exc.errno}
        start = time.monotonic()
        with contextlib.suppress(OSError):  # it died since it was checked (EPIPE): its status tells
            shell.start(cmd)
        state = bytearray()
        try:
            timed_out = self._wait(shell.proc, shell.out_r, shell.st_r, sink, state, start + timeout_s)
        finally:
            shell.close()
        duration_ms = (time.monotonic() - start) * 1000.0
        rc = shell.proc.returncode if shell.proc.returncode is not None else -signal.SIGKILL
        exit_code = 128 - rc if rc < 0 else rc  # shell convention for signals: 128 + signum
        if not timed_out:
            self._load_state(bytes(state))
        return {
            "ok": True,
            "exit_code": exit_code,
            "timed_out": timed_out,
            "duration_ms": duration_ms,
            "total": sink.total,
            "head": _b64(bytes(sink.head)),
            "tail": _b64(sink.tail_bytes()),
            "cwd": self.cwd,
        }

    def _wait(
        self,
        proc: Child,
        out_r: int,
        st_r: int,
        sink: Sink,
        state: bytearray,
        deadline: float,
    ) -> bool:
        pidfd = -1
        try:
            pidfd = os.pidfd_open(proc.pid)  # type: ignore[attr-defined,unused-ignore]
        except (AttributeError, OSError):
            pidfd = -1
        readers = [out_r, st_r] + ([pidfd] if pidfd >= 0 else [])
        timed_out = False
        exited = False
        out_open = True
        stop_at = 0.0  # after bash exits: when to kill the group / give up draining
        killed = False
        try:
            while True:
                now = time.monotonic()
                if not exited and now >= deadline:
                    _kill_group(proc.pid)
                    proc.wait()
                    timed_out = exited = killed = True
                    stop_at = now + DRAIN_LIMIT_S
                if exited and not out_open:
                    break
                if exited and now >= stop_at:
                    if killed:
                        break  # something outside the group holds the pipe: stop reading
                    _kill_group(proc.pid)
                    killed = True
                    stop_at = now + DRAIN_LIMIT_S
                if exited:
                    wait = stop_at - now
                elif pidfd >= 0:
                    wait = deadline - now
                else:
                    wait = min(POLL_S, deadline - now)
                try:
                    ready, _, _ = select.select(readers, [], [], max(0.0, wait))
                except InterruptedError:
                    continue
                for fd in ready:
                    if fd == pidfd:
                        continue
                    data = os.read(fd, READ_CHUNK)
                    if fd == out_r:
                        if data:
                            sink.add(data)
                        else:
                            out_open = False
                            readers.remove(out_r)
                    elif data:
                        state += data
                    else:
                        readers.remove(st_r)
                if not exited and (pidfd in ready or pidfd < 0) and proc.poll() is not None:
                    exited = True
                    stop_at = time.monotonic() + PIPE_GRACE_S
                    if pidfd >= 0:
                        readers.remove(pidfd)
            # The trap's write finished before bash exited: pick up what is still buffered.
            if st_r in readers:
                self._drain_nonblocking(st_r, state)
        finally:
            if pidfd >= 0:
                os.close(pidfd)
        return timed_out

    @staticmethod
    def _drain_nonblocking(fd: int, state: bytearray) -> None:
        os.set_blocking(fd, False)
        while True:
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                return
            if not data:
                return
            state += data

    def _load_state(self, raw: bytes) -> None:
        if raw == self._last_state:
            return  # the common case: the command changed neither directory nor exports
        cwd, sep, exports = raw.partition(b"\0")
        if not sep or not exports.endswith(b"\n"):
            return  # the trap did not run to completion (exec, own trap, killed): keep state
        try:
            parsed = parse_export_p(exports)
        except (ValueError, IndexError):
            return
        env = {os.fsdecode(k): os.fsdecode(v) for k, v in parsed.items()}
        for key in SKIP_VARS:
            env.pop(key, None)
        if cwd.startswith(b"/"):
            self.cwd = os.fsdecode(cwd)
        self.env = env
        self._last_state = raw

    # -- files ----------------------------------------------------------------------------
    def _path(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(self.cwd, path)

    def read_file(self, req: dict[str, Any]) -> dict[str, Any]:
        path = self._path(str(req["path"]))
        limit = int(req.get("max_bytes", DEFAULT_MAX_READ))
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            return {"ok": False, "error": f"{path}: {exc.strerror or exc}", "errno": exc.errno}
        if len(data) > limit:
            return {"ok": False, "error": f"{path} is larger than {limit} bytes", "errno": errno.EFBIG}
        return {"ok": True, "data": _b64(data), "size": len(data)}

    def write_file(self, req: dict[str, Any]) -> dict[str, Any]:
        path = self._path(str(req["path"]))
        data = base64.b64decode(req["data"])
        try:
            if req.get("mkdir", True):
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
            if req.get("mode") is not None:
                os.chmod(path, int(req["mode"]))
        except OSError as exc:
            return {"ok": False, "error": f"{path}: {exc.strerror or exc}", "errno": exc.errno}
        return {"ok": True, "size": len(data)}


class Channel:
    """Frames over two file descriptors."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd

    def _read_exact(self, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = os.read(self.in_fd, n - len(buf))
            except InterruptedError:
                continue
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def recv(self) -> dict[str, Any] | None:
        header = self._read_exact(HEADER.size)
        if header is None:
            return None
        (size,) = HEADER.unpack(header)
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes is over the limit")
        body = self._read_exact(size)
        if body is None:
            return None
        obj = json.loads(body.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("a frame must hold a JSON object")
        return obj

    def send(self, obj: dict[str, Any]) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        view = memoryview(HEADER.pack(len(body)) + body)
        while view:
            try:
                n = os.write(self.out_fd, view)
            except InterruptedError:
                continue
            view = view[n:]


def serve(channel: Channel) -> int:
    shell = Shell()
    shell.prepare()
    handlers = {"run": shell.run, "read_file": shell.read_file, "write_file": shell.write_file}
    while True:
        req = channel.recv()
        if req is None:
            return 0  # the host closed the stream
        rid = req.get("id")
        op = req.get("op")
        if op == "ping":
            resp: dict[str, Any] = {
                "ok": True,
                "protocol": PROTOCOL,
                "pid": os.getpid(),
                "python": platform.python_version(),
            }
        elif op == "shutdown":
            shell.discard()
            channel.send({"id": rid, "ok": True})
            return 0
        elif op in handlers:
            try:
                resp = handlers[str(op)](req)
            except (KeyError, TypeError, ValueError) as exc:
                resp = {"ok": False, "error": f"bad request: {exc!r}"}
        else:
            resp = {"ok": False, "error": f"unknown op {op!r}"}
        resp["id"] = rid
        channel.send(resp)
        if op == "run":
            shell.prepare()  # the next bash starts while the host reads this reply


def main() -> int:
    # Keep the protocol on private descriptors so a stray print cannot corrupt it.
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    for fd in (in_fd, out_fd):
        os.set_inheritable(fd, False)
    return serve(Channel(in_fd, out_fd))


if __name__ == "__main__":
    sys.exit(main())
