"""Commands through the shell server: output, exit codes, state carried over, files."""

from __future__ import annotations

import ast
from importlib import resources

import docker
import pytest

from forager.sandbox import CommandResult, Sandbox, SandboxConfig, SandboxOpError, sandbox_session

OLDEST_IMAGE = "forager/base:bullseye"


def test_trivial_command(sandbox: Sandbox) -> None:
    res = sandbox.run("echo hi; echo err >&2")
    assert res.output == "hi\nerr\n"
    assert res.stored_output == b"hi\nerr\n"
    assert (res.exit_code, res.output_bytes, res.timed_out, res.truncated) == (0, 7, False, False)
    assert 0 < res.duration_ms < 5000
    assert sandbox.run("exit 3").exit_code == 3
    assert sandbox.run("if then").exit_code == 2  # a syntax error is an ordinary failure


def test_cd_and_export_persist(sandbox: Sandbox) -> None:
    first = sandbox.run("cd /tmp && mkdir -p d && cd d && export FOO=bar BAZ=1")
    assert first.cwd == "/tmp/d"
    assert sandbox.run('pwd; echo "$FOO"').output == "/tmp/d\nbar\n"
    sandbox.run("unset FOO; cd ..")
    assert sandbox.run('pwd; echo "${FOO-unset}" "$BAZ"').output == "/tmp\nunset 1\n"
    assert sandbox.run("cd -").output == "/tmp/d\n"  # OLDPWD is carried over too


def test_tricky_exported_values_survive(sandbox: Sandbox) -> None:
    # Newlines, quotes, backslashes, `$`, backquotes, control and non-UTF-8 bytes.
    setup = r"""export A=$'line1\nline2' B='q"b\\c$d`e' C=$'t\tx\x01y\xffz' D='' E='é!'"""
    show = r"""printf '%s|' "$A" "$B" "$C" "$D" "$E" "${U-unset}"; export U; """
    same_process = sandbox.run(setup + "\n" + show).stored_output
    next_process = sandbox.run(show).stored_output
    assert next_process == same_process
    assert b"line1\nline2|" in next_process and b"\xffz|" in next_process


def test_binary_output_survives(sandbox: Sandbox) -> None:
    res = sandbox.run("head -c 1000 /dev/urandom")
    assert res.output_bytes == 1000 and len(res.stored_output) == 1000
    assert isinstance(res.output, str)
    exact = sandbox.run(r"printf '\xff\x00\x01abc\xc3'")
    assert exact.stored_output == b"\xff\x00\x01abc\xc3"
    assert exact.output == "\ufffd\x00\x01abc\ufffd"
    # The record keeps raw bytes through JSON (base64).
    assert CommandResult.model_validate_json(exact.model_dump_json()) == exact


def test_large_output_is_cut_and_bounded(sandbox: Sandbox) -> None:
    cfg = sandbox.config
    res = sandbox.run(r"head -c 50000000 /dev/zero | tr '\0' a; echo END")
    assert res.exit_code == 0
    assert res.output_bytes == 50_000_004
    assert res.truncated and res.stored_truncated
    assert res.output.startswith("a" * cfg.show_head_bytes + "\n[... ")
    assert res.output.endswith("a" * (cfg.show_tail_bytes - 4) + "END\n")
    assert f"[... {50_000_004 - cfg.show_head_bytes - cfg.show_tail_bytes} bytes omitted ...]" in res.output
    assert len(res.output) < cfg.show_head_bytes + cfg.show_tail_bytes + 100
    assert cfg.store_max_bytes <= len(res.stored_output) < cfg.store_max_bytes + 100
    assert res.stored_output.endswith(b"aEND\n")


def test_read_and_write_files(sandbox: Sandbox) -> None:
    data = bytes(range(256)) * 10
    sandbox.run("mkdir -p /work && cd /work")
    sandbox.write_file("sub/x.bin", data)  # relative to the session's directory
    assert sandbox.read_file("/work/sub/x.bin") == data
    sandbox.write_file("run.sh", "echo from file\n", mode=0o755)
    assert sandbox.run("./run.sh").output == "from file\n"
    with pytest.raises(SandboxOpError, match="No such file"):
        sandbox.read_file("/nonexistent")
    with pytest.raises(SandboxOpError, match="larger than"):
        sandbox.read_file("sub/x.bin", max_bytes=100)
    assert sandbox.run("echo still fine").output == "still fine\n"


def test_server_runs_on_python39(config: SandboxConfig, docker_client: docker.DockerClient) -> None:
    """The server must run on the oldest interpreter an image may have (bullseye: 3.9)."""
    source = resources.files("forager.sandbox.server").joinpath("forager_shell.py").read_text()
    ast.parse(source, feature_version=(3, 9))
    try:
        docker_client.images.get(OLDEST_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"{OLDEST_IMAGE} is not built: run `forager images bootstrap bullseye` (scripts/test.sh does)",
            pytrace=False,
        )
    with sandbox_session(OLDEST_IMAGE, config, "py39") as sb:
        assert sb.ping()["python"].startswith("3.9.")
        sb.run("cd /tmp; export A=$'x\\ny'")  # bash 5.1 prints such values differently
        assert sb.run('pwd; printf "%s" "$A"').output == "/tmp\nx\ny"
        assert sb.run("sleep 10", timeout_s=1).timed_out
