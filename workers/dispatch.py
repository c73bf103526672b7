"""Putting work on the queues (used by the API and the maintenance tasks)."""

from __future__ import annotations

import redis
from kombu.exceptions import OperationalError

from forager.config import Settings
from forager.errors import ForagerError
from workers.app import QUEUES


class BrokerUnavailableError(ForagerError):
    """The broker (Redis) does not answer: nothing was queued."""


def enqueue_submission(submission_id: int) -> None:
    """Start a submission's pipeline. The submission row exists already (the source of truth)."""
    from workers.tasks import run_submission

    try:
        run_submission.apply_async(
            args=[submission_id],
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )
    except (OperationalError, ConnectionError, OSError) as exc:
        raise BrokerUnavailableError(
            f"the broker does not answer ({exc}); the submission stays queued"
        ) from exc


def queue_depths(settings: Settings) -> dict[str, int]:
    """Messages waiting per queue (a Celery queue is a Redis list of the same name)."""
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        pipe = client.pipeline()
        for q in QUEUES:
            pipe.llen(q)
        return dict(zip(QUEUES, (int(n) for n in pipe.execute()), strict=True))
    except redis.RedisError as exc:
        raise BrokerUnavailableError(f"the broker does not answer: {exc}") from exc
    finally:
        client.close()
