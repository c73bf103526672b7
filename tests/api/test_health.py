"""/healthz, /readyz and /metrics on the real store and broker."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.settings import ApiSettings
from forager.config import Settings
from tests.api.conftest import make_client
from tests.api.seed import seed_world


def test_healthz(client: TestClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


def test_readyz_ready(client: TestClient) -> None:
    resp = client.get("/readyz")
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["store"]["ok"] and body["checks"]["broker"]["ok"]
    # Docker is reported either way, and not required by default.
    assert body["checks"]["docker"]["required"] is False


def test_readyz_names_the_failing_dependency(service_settings: Settings) -> None:
    broken = service_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with make_client(broken, ApiSettings(log_requests=False, ready_timeout_s=1.0)) as c:
        resp = c.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["broker"]["ok"] is False and body["checks"]["broker"]["error"]
    assert body["checks"]["store"]["ok"] is True


def test_readyz_can_require_docker(service_settings: Settings, monkeypatch) -> None:
    # Point the Docker client at a socket that does not exist: a real failed connection.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with make_client(service_settings, ApiSettings(log_requests=False, ready_requires_docker=True)) as c:
        resp = c.get("/readyz")
    assert resp.status_code == 503
    docker = resp.json()["checks"]["docker"]
    assert docker["ok"] is False and docker["required"] is True and docker["error"]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics(service_settings: Settings, redis_url: str, celery_on_test_redis: None) -> None:
    seed_world(service_settings.db_url)
    # No caching, so the scrape reflects the rows just written.
    with make_client(service_settings, ApiSettings(log_requests=False, metrics_cache_s=0)) as c:
        r = redis.Redis.from_url(redis_url)
        r.lpush("export", '{"not": "a real message"}')
        try:
            c.get("/v1/episodes")  # a 401, counted per route
            text = c.get("/metrics").text
        finally:
            r.lrem("export", 0, '{"not": "a real message"}')
    m = _samples(text)
    assert m[("forager_store_up", ())] == 1 and m[("forager_broker_up", ())] == 1
    assert m[("forager_queue_depth", (("queue", "export"),))] >= 1
    for q in ("build", "tasks", "episodes"):
        assert ("forager_queue_depth", (("queue", q),)) in m
    assert m[("forager_environments", (("status", "verified"),))] >= 1
    assert m[("forager_submissions", (("status", "running"),))] >= 1
    finished = m[("forager_episodes_finished_total", ())]
    assert finished >= 5
    assert finished == sum(
        v
        for (name, labels), v in m.items()
        if name == "forager_episodes" and ("status", "finished") in labels
    )
    assert m[("forager_episodes", (("exit_status", "format_error"), ("status", "finished")))] >= 1
    assert m[("forager_failures", (("kind", "environment"), ("reason", "build_failed")))] >= 1
    assert m[("forager_failures", (("kind", "episode"), ("reason", "env_error")))] >= 1
    # The seeded submission's build took 30 s.
    build = dict(
        (dict(labels)["le"], v)
        for (name, labels), v in m.items()
        if name == "forager_stage_duration_seconds_bucket" and ("stage", "build") in labels
    )
    assert build["60"] >= 1 and build["+Inf"] >= build["60"]
    assert m[("forager_stage_duration_seconds_sum", (("stage", "build"),))] >= 29.9
    assert (
        "forager_api_requests_total",
        (("method", "GET"), ("route", "/v1/episodes"), ("status", "401")),
    ) in m


def test_metrics_when_the_broker_is_down(service_settings: Settings) -> None:
    broken = service_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with make_client(broken, ApiSettings(log_requests=False, metrics_cache_s=0)) as c:
        resp = c.get("/metrics")
    assert resp.status_code == 200
    m = _samples(resp.text)
    assert m[("forager_broker_up", ())] == 0 and m[("forager_store_up", ())] == 1
