"""The real app on the session's PostgreSQL database and Redis: no store or broker is faked."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from api.app import create_app
from api.keys import ApiKeyStore
from api.settings import ApiSettings
from forager.config import Settings
from forager.store.db import session_scope
from forager.store.models import (
    ApiKeyRow,
    EnvironmentRow,
    EpisodeRow,
    SnapshotRow,
    SourceRow,
    StepRow,
    SubmissionRow,
    TaskRow,
)

PEPPER = "api-tests-pepper"
# Tables a request could write to; a rejected request must leave every count unchanged.
COUNTED = (SubmissionRow, SourceRow, SnapshotRow, EnvironmentRow, TaskRow, EpisodeRow, StepRow, ApiKeyRow)


@pytest.fixture(scope="session")
def service_settings(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data: Path = tmp_path_factory.mktemp("api-data")
    return Settings(
        data_dir=data,
        database_url=pg_url,
        redis_url=redis_url,
        api_keys_pepper=SecretStr(PEPPER),
        instance=f"api-test-{uuid.uuid4().hex[:6]}",
    )


@pytest.fixture(scope="session")
def celery_on_test_redis(redis_url: str) -> Iterator[None]:
    """Point the Celery app's producer at the test Redis database (it reads the URL from the
    environment at import, possibly before this session's settings existed)."""
    from workers.app import app as celery_app

    old = celery_app.conf.broker_url
    celery_app.conf.broker_url = redis_url
    celery_app._after_fork()  # drops connection pools made for the old URL
    yield
    celery_app.conf.broker_url = old
    celery_app._after_fork()


def make_client(settings: Settings, api_settings: ApiSettings | None = None) -> TestClient:
    return TestClient(create_app(settings, api_settings or ApiSettings(log_requests=False)))


@pytest.fixture(scope="module")
def client(service_settings: Settings, celery_on_test_redis: None) -> Iterator[TestClient]:
    with make_client(service_settings) as c:
        yield c


@pytest.fixture(scope="session")
def keys(service_settings: Settings) -> dict[str, str]:
    """A key per scope set, made through the same store the CLI uses."""
    store = ApiKeyStore(service_settings.db_url, PEPPER)
    made = {
        "read": store.create("tests-read", "read"),
        "submit": store.create("tests-submit", "submit"),
        "admin": store.create("tests-admin", "admin"),
        "revoked": store.create("tests-revoked", "read,submit"),
    }
    store.revoke(made["revoked"].prefix)
    return {name: c.key for name, c in made.items()}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings.db_url) as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0) for m in COUNTED}


def queued_messages(redis_url: str, queue: str = "build") -> list[dict[str, Any]]:
    """Celery messages waiting on a queue (kombu keeps a Redis list per queue), decoded."""
    client = redis.Redis.from_url(redis_url)
    out = []
    raws: list[bytes] = client.lrange(queue, 0, -1)  # type: ignore[assignment]  # sync client
    for raw in raws:
        msg = json.loads(raw)
        body = json.loads(base64.b64decode(msg["body"])) if msg.get("body") else None
        out.append({"raw": raw, "task": msg["headers"].get("task"), "body": body})
    return out


def drop_messages(redis_url: str, submission_ids: set[int], queue: str = "build") -> None:
    """Take our test submissions off the queue again so that no worker ever runs them."""
    client = redis.Redis.from_url(redis_url)
    for m in queued_messages(redis_url, queue):
        if m["body"] and m["body"][0] and m["body"][0][0] in submission_ids:
            client.lrem(queue, 0, m["raw"])
