"""The Celery application: Redis broker, one queue per kind of work, reliable delivery.

Tasks are acknowledged after they finish (`acks_late`) and requeued when their worker dies
(`reject_on_worker_lost`); every task is idempotent, so a redelivery redoes nothing that
finished. Run a worker: `celery -A workers.app worker -Q build --concurrency 1`.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

from forager.config import get_settings

QUEUES = ("build", "tasks", "episodes", "export")


def make_app() -> Celery:
    settings = get_settings()
    app = Celery("forager", broker=settings.redis_url, include=["workers.tasks"])
    visibility = float(os.environ.get("FORAGER_BROKER_VISIBILITY_S", "3600"))
    app.conf.update(
        task_queues=[Queue(q) for q in QUEUES],
        task_default_queue="build",
        task_routes={
            "forager.submissions.*": {"queue": "build"},
            "forager.tasks.*": {"queue": "tasks"},
            "forager.episodes.*": {"queue": "episodes"},
            "forager.export.*": {"queue": "export"},
            "forager.maintenance.*": {"queue": "build"},
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        # A message whose worker vanished goes back to the queue after this long.
        broker_transport_options={"visibility_timeout": visibility},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-orphan-containers": {"task": "forager.maintenance.sweep", "schedule": 300.0},
            "requeue-stale-submissions": {"task": "forager.maintenance.requeue_stale", "schedule": 120.0},
            "export-new-episodes": {"task": "forager.export.run", "schedule": 3600.0},
        },
    )
    return app


app = make_app()
