"""Hostile commands: time limits, fork bombs, memory hogs, no network."""

from __future__ import annotations

import time

from forager.sandbox import Sandbox, SandboxOpError


def test_timeout_kills_the_command_and_the_session_goes_on(sandbox: Sandbox) -> None:
    sandbox.run("cd /tmp; export KEEP=1")
    start = time.monotonic()
    res = sandbox.run("echo started; sleep 1000", timeout_s=2)
    assert res.timed_out and res.exit_code == 137
    assert res.output == "started\n"
    assert time.monotonic() - start < 5
    after = sandbox.run('pwd; echo "$KEEP"; ps -eo comm | grep -c "^sleep$" || true')
    assert after.output == "/tmp\n1\n0\n"  # state kept, the sleep is gone


def test_background_child_holding_output_is_killed(sandbox: Sandbox) -> None:
    res = sandbox.run("sleep 1000 & echo bg")
    assert (res.output, res.exit_code, res.timed_out) == ("bg\n", 0, False)
    assert res.duration_ms < 3000
    # A detached one (output redirected) keeps running.
    sandbox.run("nohup sleep 1000 >/dev/null 2>&1 &")
    assert sandbox.run('ps -eo comm | grep -c "^sleep$"').output == "1\n"


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    start = time.monotonic()
    try:
        res = sandbox.run(":(){ :|:& };:", timeout_s=5)
        assert res.output_bytes >= 0
    except SandboxOpError as exc:  # failing cleanly is allowed; hanging or dying is not
        assert "cannot start bash" in str(exc)
    assert time.monotonic() - start < 20
    after = sandbox.run("echo alive; ps -e --no-headers | wc -l")
    lines = after.output.split()
    assert lines[0] == "alive"
    assert int(lines[1]) < 20  # the bomb's processes are gone


def test_memory_hog_is_killed_and_the_session_goes_on(sandbox: Sandbox) -> None:
    res = sandbox.run('python3 -c "x = bytearray(8 << 30)"', timeout_s=60)
    assert res.exit_code != 0 and not res.timed_out
    assert sandbox.run("echo alive").output == "alive\n"
    assert sandbox.alive()


def test_network_is_off(sandbox: Sandbox) -> None:
    res = sandbox.run("""python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)" """)
    assert res.exit_code != 0
    assert "Network is unreachable" in res.output or "Errno" in res.output
    assert sandbox.run("ls /sys/class/net").output.split() == ["lo"]
