"""Access to the Docker engine, and the labels by which Forager finds what it created."""

from __future__ import annotations

from functools import lru_cache

import docker
from docker.errors import DockerException

from forager.errors import DockerUnavailableError

LABEL_MANAGED = "forager.managed"
LABEL_KIND = "forager.kind"  # base | environment | validation | sandbox | ...
# Which Forager installation made a container: sweepers and test suites touch only their own.
LABEL_INSTANCE = "forager.instance"


def container_labels(kind: str, instance: str, **extra: str) -> dict[str, str]:
    return {LABEL_MANAGED: "1", LABEL_KIND: kind, LABEL_INSTANCE: instance, **extra}


@lru_cache(maxsize=1)
def get_docker() -> docker.DockerClient:
    """The engine named by DOCKER_HOST (or the local socket), checked with a ping."""
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailableError(
            f"the Docker engine does not answer ({exc}); start it with `scripts/services.sh docker`"
        ) from exc
    return client


def image_size(ref: str) -> int | None:
    """Size in bytes of a local image, None when it does not exist."""
    try:
        return int(get_docker().images.get(ref).attrs["Size"])
    except docker.errors.ImageNotFound:
        return None


def image_exists(ref: str) -> bool:
    return image_size(ref) is not None
