"""Submit through the HTTP API, harvest with a Celery worker process, read back through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.keys import ApiKeyStore
from api.settings import ApiSettings
from forager.config import Settings
from tests.workers.conftest import RedisServer, Worker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PEPPER = "e2e-pepper"


@pytest.fixture
def service(settings: Settings, redis_server: RedisServer) -> Iterator[tuple[TestClient, Settings]]:
    from workers.app import app as celery_app

    svc = settings.model_copy(update={"redis_url": redis_server.url, "api_keys_pepper": SecretStr(PEPPER)})
    old = celery_app.conf.broker_url
    celery_app.conf.broker_url = redis_server.url
    celery_app._after_fork()  # drop producer pools made for another broker
    with TestClient(create_app(svc, ApiSettings(log_requests=False))) as client:
        yield client, svc
    celery_app.conf.broker_url = old
    celery_app._after_fork()


def test_submit_over_http_and_read_back(
    service: tuple[TestClient, Settings], redis_server: RedisServer, worker_factory: list[Worker]
) -> None:
    client, svc = service
    key = ApiKeyStore(svc.db_url, PEPPER).create("e2e", "read,submit").key
    auth = {"Authorization": f"Bearer {key}"}
    worker = Worker(svc, redis_server.url, "http-e2e")
    worker_factory.append(worker)
    worker.start()
    body = {
        "source": "pypi:toposort==1.10",
        "options": {"max_tasks": 3, "max_task_episodes": 2, "explore_episodes": 1, "max_steps": 10},
    }
    resp = client.post("/v1/sources", json=body, headers=auth)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["id"]
    deadline = time.monotonic() + 900
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = client.get(f"/v1/sources/{sid}", headers=auth).json()
        if status["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(2)
    assert status.get("status") == "done", (status, worker.tail())
    env_id = status["environment_id"]
    env = client.get(f"/v1/environments/{env_id}", headers=auth).json()
    assert env["status"] == "verified" and env["tests_passed"] == 11
    tasks = client.get("/v1/tasks", params={"environment_id": env_id}, headers=auth).json()
    assert 1 <= len(tasks["items"]) <= 3
    episodes = client.get("/v1/episodes", params={"environment_id": env_id}, headers=auth).json()["items"]
    assert len(episodes) >= 2 and all(e["status"] == "finished" for e in episodes)
    explorer = [e for e in episodes if e["task_id"] is None]
    traj = client.get(f"/v1/episodes/{explorer[0]['id']}/trajectory", headers=auth).json()
    assert traj["format"] == "forager.trajectory/1" and traj["policy"]["kind"] == "explorer" and traj["steps"]
    lines = client.get("/v1/trajectories", params={"environment_id": env_id}, headers=auth).text.splitlines()
    assert len(lines) == len(episodes)
