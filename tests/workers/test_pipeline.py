"""The service pipeline with a real Celery worker process, Redis, PostgreSQL and Docker."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import docker
import pytest
import redis
from sqlalchemy import select

from forager.agent.models import Action
from forager.agent.policies import ReplayPolicyConfig
from forager.config import Settings
from forager.pipeline.options import HarvestOptions
from forager.store.db import session_scope
from forager.store.models import EpisodeRow, SubmissionRow, utcnow
from forager.store.submissions import SubmissionStore
from tests.conftest import CALC_PYPROJECT
from tests.repos import calc_package, write
from tests.workers.conftest import FAST_REDELIVERY_S, RedisServer, Worker

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _enqueue(settings: Settings, redis_url: str, submission_id: int) -> None:
    """Queue as the API does, on the test's broker (fresh connections every time, so a broker
    that went away is noticed and an earlier test's pool is never reused)."""
    from workers.app import app

    app.conf.broker_url = redis_url
    app._after_fork()  # drop producer pools made before
    from workers.dispatch import enqueue_submission

    enqueue_submission(submission_id)


def _wait(settings: Settings, sid: int, worker: Worker, timeout: float = 600) -> SubmissionRow:
    subs = SubmissionStore(settings.db_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = subs.get(sid)
        if row.status in ("done", "failed", "cancelled"):
            return row
        time.sleep(1)
    raise AssertionError(f"submission {sid} did not finish: {subs.get(sid).progress}\n{worker.tail()}")


def _calc_repo(root: Path) -> str:
    return str(write(root, {"pyproject.toml": CALC_PYPROJECT, **calc_package("calc")}))


def test_submission_runs_through_the_worker(
    settings: Settings, tmp_path: Path, redis_server: RedisServer, worker_factory: list[Worker]
) -> None:
    worker = Worker(settings, redis_server.url, "e2e")
    worker_factory.append(worker)
    worker.start()
    options = HarvestOptions(max_tasks=3, max_task_episodes=2, explore_episodes=1, max_steps=12)
    sid = SubmissionStore(settings.db_url).create(
        _calc_repo(tmp_path / "calc"), None, options.model_dump(mode="json")
    )
    _enqueue(settings, redis_server.url, sid)
    row = _wait(settings, sid, worker)
    assert row.status == "done", (row.error, row.progress, worker.tail())
    assert row.progress["build"]["status"] == "done" and row.progress["tasks"]["status"] == "done"
    assert row.progress["episodes"]["finished"] == row.progress["episodes"]["total"] >= 2
    with session_scope(settings.db_url) as s:
        episodes = s.scalars(select(EpisodeRow).where(EpisodeRow.idempotency_key.like(f"sub{sid}-%"))).all()
        assert len(episodes) == row.progress["episodes"]["total"]
        assert all(e.status == "finished" and e.exit_status for e in episodes)


def test_worker_killed_mid_episode_is_redelivered_once(
    settings: Settings,
    tmp_path: Path,
    redis_server: RedisServer,
    worker_factory: list[Worker],
    docker_client: docker.DockerClient,
) -> None:
    slow = ReplayPolicyConfig(
        actions=[
            Action(tool="bash", args={"command": "sleep 25"}),
            Action(tool="bash", args={"command": "echo second"}),
        ]
    )
    options = HarvestOptions(max_tasks=0, explore_episodes=1, policy=slow, max_steps=5)
    sid = SubmissionStore(settings.db_url).create(
        _calc_repo(tmp_path / "calc"), None, options.model_dump(mode="json")
    )
    first = Worker(settings, redis_server.url, "doomed", visibility_s=FAST_REDELIVERY_S)
    worker_factory.append(first)
    first.start()
    _enqueue(settings, redis_server.url, sid)
    key = f"sub{sid}-"
    deadline = time.monotonic() + 600
    episode_id = None
    while time.monotonic() < deadline and episode_id is None:
        with session_scope(settings.db_url) as s:
            ep = s.scalars(select(EpisodeRow).where(EpisodeRow.idempotency_key.like(key + "%"))).first()
            if ep is not None and ep.status == "running":
                episode_id = ep.id
        time.sleep(0.5)
    assert episode_id is not None, first.tail()
    time.sleep(3)  # inside the 25 s step
    first.kill()
    with session_scope(settings.db_url) as s:
        assert s.get_one(EpisodeRow, episode_id).status == "running"  # never looks complete
    second = Worker(settings, redis_server.url, "heir", visibility_s=FAST_REDELIVERY_S)
    worker_factory.append(second)
    second.start()
    row = _wait(settings, sid, second, timeout=600)
    assert row.status == "done", (row.error, second.tail())
    with session_scope(settings.db_url) as s:
        episodes = s.scalars(select(EpisodeRow).where(EpisodeRow.idempotency_key.like(key + "%"))).all()
        assert [e.id for e in episodes] == [episode_id]
        ep = episodes[0]
        assert ep.status == "finished" and ep.exit_status == "submitted" and len(ep.steps) == 3
    left = docker_client.containers.list(all=True, filters={"label": f"forager.instance={settings.instance}"})
    assert [c.name for c in left if c.labels.get("forager.kind") == "sandbox"] == []


def test_redis_restart_loses_no_submission(
    settings: Settings, tmp_path: Path, redis_server: RedisServer, worker_factory: list[Worker]
) -> None:
    options = HarvestOptions(max_tasks=0, explore_episodes=0)
    subs = SubmissionStore(settings.db_url)
    started = utcnow()
    queued = subs.create(_calc_repo(tmp_path / "a"), None, options.model_dump(mode="json"))
    _enqueue(settings, redis_server.url, queued)
    assert redis.Redis.from_url(redis_server.url).llen("build") == 1
    redis_server.stop()  # the broker goes away with a message on the queue
    from workers.dispatch import BrokerUnavailableError

    refused = subs.create(_calc_repo(tmp_path / "b"), None, options.model_dump(mode="json"))
    with pytest.raises(BrokerUnavailableError):
        _enqueue(settings, redis_server.url, refused)
    assert subs.get(refused).status == "queued"  # the row is the record; nothing is lost
    redis_server.start()
    assert redis.Redis.from_url(redis_server.url).llen("build") == 1  # the append-only file kept it
    from workers import maintenance
    from workers.app import app

    app.conf.broker_url = redis_server.url
    app._after_fork()
    # Only this test's rows: other tests of the session leave queued submissions behind.
    requeued = maintenance.requeue_stale_submissions(settings, timedelta(0), created_after=started)
    assert refused in requeued
    worker = Worker(settings, redis_server.url, "after-restart")
    worker_factory.append(worker)
    worker.start()
    for sid in (queued, refused):
        assert _wait(settings, sid, worker).status == "done"
