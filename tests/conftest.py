"""Shared fixtures: real services, a fresh PostgreSQL database, isolated settings.

A missing service fails the run with a message saying how to start it; nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import psycopg
import pytest
import redis

from forager.config import Settings

PG_ADMIN_URL = os.environ.get("FORAGER_TEST_PG", "postgresql://forager:forager@127.0.0.1:5432/forager")
REDIS_URL = os.environ.get("FORAGER_TEST_REDIS", "redis://127.0.0.1:6379/15")
# Containers this test session creates carry this label value; only they are checked/removed.
TEST_INSTANCE = f"test-{uuid.uuid4().hex[:8]}"
HINT = "start the services with `scripts/services.sh` (run as root), or run `scripts/test.sh`"


def _ca_certs() -> list[Path]:
    raw = os.environ.get("FORAGER_CA_CERTS", "")
    return [Path(p) for p in raw.split(":") if p.strip()]


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the Docker engine does not answer ({exc}); {HINT}", pytrace=False)
    return client


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end."""
    name = f"forager_test_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_URL} ({exc}); {HINT}", pytrace=False)
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    yield url
    from forager.store.db import get_engine

    get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis does not answer at {REDIS_URL} ({exc}); {HINT}", pytrace=False)
    return REDIS_URL


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forager-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path, pg_url: str, docker_client: docker.DockerClient) -> Settings:
    """Settings on the real PostgreSQL store and the local engine, with the bookworm base."""
    s = Settings(
        data_dir=data_dir,
        database_url=pg_url,
        ca_certs=_ca_certs(),
        test_runs=2,
        instance=TEST_INSTANCE,
        build_timeout_s=600,
        test_timeout_s=300,
        max_attempts=4,
    )
    ref = s.base_images[s.default_python]
    try:
        docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"base image {ref} is missing: run `forager images bootstrap` (scripts/test.sh does)",
            pytrace=False,
        )
    return s


@pytest.fixture(scope="session", autouse=True)
def no_containers_left_behind() -> Iterator[None]:
    """After the whole suite, no container that the suite started may remain.

    Containers of other Forager runs on the same engine (a benchmark beside the suite, image
    builds' intermediate containers) have another instance label and are left alone.
    """
    yield
    try:
        client = docker.from_env()
        left = client.containers.list(all=True, filters={"label": f"forager.instance={TEST_INSTANCE}"})
    except docker.errors.DockerException:
        return
    names = [f"{c.name} ({c.labels.get('forager.kind')})" for c in left]
    for c in left:
        c.remove(force=True)
    assert not names, f"containers left behind by the suite: {names}"


@pytest.fixture(scope="session")
def calc_env(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> int:
    """A verified environment of a small calculator package (built once per session)."""
    from forager.envs.harvest import build_from_source
    from tests.repos import calc_package, write

    repo = write(
        tmp_path_factory.mktemp("calc") / "calc",
        {
            "pyproject.toml": CALC_PYPROJECT,
            **calc_package("calc"),
        },
    )
    summary = build_from_source(str(repo), settings)
    assert summary.status == "verified", summary.reason
    return summary.id


CALC_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
version = "0.1"

[tool.setuptools]
packages = ["calc"]
"""
