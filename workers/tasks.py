"""Thin Celery tasks over the pipeline's stages (forager.pipeline.stages).

Each passes ids, is idempotent, and retries only transient errors (engine, broker or store
connections). Stage functions record progress in the store; these tasks only chain them.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from sqlalchemy.exc import OperationalError as DBOperationalError

from forager.config import get_settings
from forager.errors import DockerUnavailableError, ForagerError
from forager.pipeline.stages import (
    Cancelled,
    EpisodeJob,
    build_stage,
    episode_jobs,
    episode_stage,
    finish_stage,
    ingest_stage,
    tasks_stage,
    traces_stage,
)
from forager.store.submissions import TERMINAL, SubmissionStore
from workers.app import app
from workers.progress import episodes_finished

log = structlog.get_logger("forager.workers")
TRANSIENT = (DockerUnavailableError, DBOperationalError, ConnectionError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 5, "retry_backoff_max": 120, "max_retries": 5}


def _finished(submission_id: int) -> bool:
    return SubmissionStore(get_settings().db_url).get(submission_id).status in TERMINAL


def _fail(submission_id: int, exc: BaseException) -> None:
    subs = SubmissionStore(get_settings().db_url)
    if isinstance(exc, Cancelled):
        subs.finish(submission_id, "cancelled")
    else:
        subs.finish(submission_id, "failed", f"{type(exc).__name__}: {exc}")


@app.task(
    name="forager.submissions.run", bind=True, soft_time_limit=4 * 3600, time_limit=4 * 3600 + 300, **RETRY
)
def run_submission(self: Task, submission_id: int) -> None:
    settings = get_settings()
    log.info("submission.start", submission=submission_id, attempt=self.request.retries)
    if _finished(submission_id):
        return  # a duplicate message (requeued by the sweeper): the work is done
    try:
        ingest_stage(submission_id, settings)
        env_id = build_stage(submission_id, settings)
    except TRANSIENT:
        raise
    except ForagerError as exc:
        _fail(submission_id, exc)
        return
    if env_id is None:
        SubmissionStore(settings.db_url).finish(submission_id, "failed", "the environment did not verify")
        return
    generate_for_submission.delay(submission_id)


@app.task(
    name="forager.tasks.generate", bind=True, soft_time_limit=4 * 3600, time_limit=4 * 3600 + 300, **RETRY
)
def generate_for_submission(self: Task, submission_id: int) -> None:
    settings = get_settings()
    if _finished(submission_id):
        return
    try:
        task_ids = tasks_stage(submission_id, settings)
        traces_stage(submission_id, settings)
        jobs = episode_jobs(submission_id, settings, task_ids)
    except TRANSIENT:
        raise
    except ForagerError as exc:
        _fail(submission_id, exc)
        return
    if not jobs:
        finish_stage(submission_id, settings, [])
        return
    for job in jobs:
        run_episode_job.delay(job.submission_id, job.environment_id, job.task_id, job.seed)


@app.task(
    name="forager.episodes.run", bind=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300, **RETRY
)
def run_episode_job(
    self: Task, submission_id: int, environment_id: int, task_id: int | None, seed: int
) -> None:
    settings = get_settings()
    job = EpisodeJob(submission_id, environment_id, task_id, seed)
    try:
        episode_stage(job, settings)
    except TRANSIENT:
        raise
    except Cancelled as exc:
        _fail(submission_id, exc)
        return
    except ForagerError as exc:
        log.warning("episode.failed", submission=submission_id, task=task_id, seed=seed, error=str(exc))
    done, total = episodes_finished(submission_id, settings)
    subs = SubmissionStore(settings.db_url)
    subs.stage(submission_id, "episodes", "running", total=total, finished=done)
    if total and done >= total:
        finish_stage(submission_id, settings, list(range(done)))


@app.task(name="forager.maintenance.sweep")
def sweep() -> dict[str, Any]:
    from workers.maintenance import sweep_orphans

    return sweep_orphans(get_settings())


@app.task(name="forager.maintenance.requeue_stale")
def requeue_stale() -> list[int]:
    from workers.maintenance import requeue_stale_submissions

    return requeue_stale_submissions(get_settings())


@app.task(name="forager.export.run", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300, **RETRY)
def run_export_job(out_dir: str | None = None) -> dict[str, Any]:
    """Export what finished since the last export (incremental by the folder's watermark)."""
    from pathlib import Path

    from model.export import run_export

    settings = get_settings()
    target = Path(out_dir) if out_dir else settings.data_dir / "exports"
    manifest = run_export(settings, target)
    log.info("export.done", export=manifest.export_id, out=str(target))
    return {"export_id": manifest.export_id, "out_dir": str(target)}
