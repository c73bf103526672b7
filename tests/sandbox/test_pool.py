"""The warm pool hands out started sandboxes and refills itself."""

from __future__ import annotations

import time

import docker

from forager.sandbox import SandboxConfig, SandboxPool


def test_pool_hands_out_warm_sandboxes(
    image: str, config: SandboxConfig, docker_client: docker.DockerClient
) -> None:
    with SandboxPool(config, size=1, client=docker_client) as pool:
        assert pool.warm(image) == 1
        start = time.monotonic()
        sb = pool.acquire(image, "ep-1")
        try:
            assert sb.run("echo warm").output == "warm\n"
            assert time.monotonic() - start < 1.0
            assert sb.episode_id == "ep-1"
            sb.container.reload()
            assert str(sb.container.name).startswith("forager-sbx-ep-1-")
            assert pool.warm(image) == 1  # refilled behind the acquisition
        finally:
            sb.close()
        dead = pool.acquire(image, "ep-2")
        dead.container.kill()
        dead.close()
        assert pool.warm(image) == 1
        pooled = pool._ready[image][0][1]
        pooled.container.kill()  # dies while waiting: never handed out
        sb2 = pool.acquire(image, "ep-3")
        try:
            assert sb2.run("echo ok").output == "ok\n"
        finally:
            sb2.close()
    # Closing the pool removes what was waiting in it.
    assert pool.ready_count(image) == 0
