"""Container lifecycle: death detection, labels and limits, sweeping orphans."""

from __future__ import annotations

import contextlib
import time
import uuid

import docker
import pytest

from forager.dockerhost import LABEL_KIND, LABEL_MANAGED
from forager.sandbox import (
    Sandbox,
    SandboxConfig,
    SandboxDeadError,
    SandboxStartError,
    is_healthy,
    sandbox_session,
    sweep_orphans,
)
from forager.sandbox.lifecycle import LABEL_EPISODE, create_container
from tests.sandbox.conftest import TEST_LABEL


def test_container_settings(sandbox: Sandbox) -> None:
    attrs = sandbox.container.attrs
    host = attrs["HostConfig"]
    labels = attrs["Config"]["Labels"]
    assert labels[LABEL_MANAGED] == "1" and labels[LABEL_KIND] == "sandbox"
    assert labels[LABEL_EPISODE] == sandbox.episode_id
    assert host["NetworkMode"] == "none" and host["Init"] is True
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
    assert host["PidsLimit"] == 128 and host["NanoCpus"] == 1_000_000_000
    assert host["LogConfig"]["Config"]["max-size"] == "1m"
    assert is_healthy(sandbox)


def test_killed_server_raises_dead_promptly(sandbox: Sandbox) -> None:
    assert sandbox.run("true").exit_code == 0
    sandbox.container.exec_run(["pkill", "-f", "forager_shell"])
    start = time.monotonic()
    with pytest.raises(SandboxDeadError):
        sandbox.run("true")
    assert time.monotonic() - start < 5
    assert not sandbox.alive()
    with pytest.raises(SandboxDeadError):  # and stays dead
        sandbox.run("true")


def test_killed_container_raises_dead_promptly(sandbox: Sandbox) -> None:
    sandbox.container.kill()
    start = time.monotonic()
    with pytest.raises(SandboxDeadError):
        sandbox.run("echo hi")
    assert time.monotonic() - start < 5
    assert not is_healthy(sandbox)


def test_container_dying_during_a_command(sandbox: Sandbox) -> None:
    # The server is the parent of each command's bash; its death stops the container.
    sandbox.run("server=$PPID; (sleep 0.5; kill -9 $server) >/dev/null 2>&1 &")
    start = time.monotonic()
    with pytest.raises(SandboxDeadError):
        sandbox.run("sleep 60", timeout_s=120)
    assert time.monotonic() - start < 5


def test_session_removes_the_container(
    image: str, config: SandboxConfig, docker_client: docker.DockerClient
) -> None:
    with sandbox_session(image, config, "ctx") as sb:
        name = sb.container.name
        assert sb.run("echo ok").output == "ok\n"
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(str(name))


def test_bad_image_or_interpreter_fails_to_start(
    image: str, config: SandboxConfig, docker_client: docker.DockerClient, run_id: str
) -> None:
    with pytest.raises(SandboxStartError, match="does not exist"):
        sandbox_session("forager/no-such-image:latest", config).__enter__()
    with pytest.raises(SandboxStartError, match="did not start"):
        sandbox_session(image, config.model_copy(update={"python": "python2"}), "nopython").__enter__()
    assert not docker_client.containers.list(all=True, filters={"label": f"{LABEL_EPISODE}=nopython"})


def test_sweeper_removes_old_orphans_only(
    image: str, config: SandboxConfig, docker_client: docker.DockerClient, run_id: str
) -> None:
    orphan = create_container(image, config, f"orphan-{uuid.uuid4().hex[:6]}", docker_client)
    try:
        time.sleep(2.1)  # Created has a resolution of one second
        young = create_container(image, config, "young", docker_client)
        try:
            removed = sweep_orphans(2.0, docker_client, labels={TEST_LABEL: run_id})
            assert removed == [orphan.name]
            with pytest.raises(docker.errors.NotFound):
                orphan.reload()
            young.reload()  # still there
        finally:
            young.remove(force=True)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            orphan.remove(force=True)
