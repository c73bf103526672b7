"""Fixtures for sandbox tests: real containers from the bookworm base, all removed at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest

from forager.sandbox import Sandbox, SandboxConfig, start_sandbox

IMAGE = "forager/base:bookworm"
TEST_LABEL = "forager.test"


@pytest.fixture(scope="session")
def run_id() -> str:
    """Labels this test run's containers, so sweeps and checks touch nothing else."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def image(docker_client: docker.DockerClient) -> str:
    try:
        docker_client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"base image {IMAGE} is missing: run `forager images bootstrap bookworm`", pytrace=False)
    return IMAGE


@pytest.fixture(scope="session", autouse=True)
def no_sandbox_left(docker_client: docker.DockerClient, run_id: str) -> Iterator[None]:
    """Every test must clean up after itself; leftovers fail the run (and are removed)."""
    yield
    left = docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={run_id}"})
    for container in left:
        container.remove(force=True)
    assert not left, f"sandbox tests left containers behind: {[c.name for c in left]}"


@pytest.fixture
def config(run_id: str) -> SandboxConfig:
    return SandboxConfig(
        memory="512m", pids_limit=128, cpus=1.0, labels={TEST_LABEL: run_id}, default_timeout_s=30
    )


@pytest.fixture
def sandbox(image: str, config: SandboxConfig) -> Iterator[Sandbox]:
    sb = start_sandbox(image, config, episode_id=f"test-{uuid.uuid4().hex[:6]}")
    try:
        yield sb
    finally:
        sb.close()
