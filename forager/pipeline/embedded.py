"""`forager harvest`: the whole pipeline in this process, on the configured store, no broker."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from forager.config import Settings
from forager.envs.models import EnvironmentSummary
from forager.errors import ForagerError
from forager.pipeline.options import HarvestOptions
from forager.pipeline.stages import (
    Cancelled,
    build_stage,
    episode_jobs,
    episode_stage,
    finish_stage,
    ingest_stage,
    tasks_stage,
    traces_stage,
)
from forager.protocols import NullReporter, Reporter
from forager.sources.spec import parse_source
from forager.store.environments import EnvironmentStore
from forager.store.episodes import EpisodeStore
from forager.store.submissions import SubmissionStore
from forager.store.tasks import TaskStore
from forager.traces.store import TraceStore


class HarvestSummary(BaseModel):
    submission_id: int
    status: str
    environment: EnvironmentSummary | None = None
    tasks_by_family: dict[str, int] = Field(default_factory=dict)
    episodes_by_exit: dict[str, int] = Field(default_factory=dict)
    traces: int = 0
    steps: int = 0
    error: str | None = None


def harvest(
    source: str,
    settings: Settings,
    options: HarvestOptions | None = None,
    ref: str | None = None,
    reporter: Reporter | None = None,
) -> HarvestSummary:
    """Run every stage for one source. An invalid source raises before anything is stored."""
    reporter = reporter or NullReporter()
    options = options or HarvestOptions()
    parse_source(source, ref)  # fail fast, store nothing
    subs = SubmissionStore(settings.db_url)
    sid = subs.create(source, ref, options.model_dump(mode="json"))
    episode_ids: list[int] = []
    try:
        ingest_stage(sid, settings, reporter)
        env_id = build_stage(sid, settings, reporter)
        if env_id is None:
            subs.finish(sid, "failed", "the environment did not verify")
        else:
            task_ids = tasks_stage(sid, settings, reporter)
            traces_stage(sid, settings, reporter)
            jobs = episode_jobs(sid, settings, task_ids)
            for i, job in enumerate(jobs, 1):
                reporter.stage("episodes", f"{i}/{len(jobs)} (task {job.task_id or '-'}, seed {job.seed})")
                episode_ids.append(episode_stage(job, settings, reporter))
                subs.stage(sid, "episodes", "running", total=len(jobs), finished=i)
            finish_stage(sid, settings, episode_ids)
    except Cancelled:
        subs.finish(sid, "cancelled")
    except ForagerError as exc:
        subs.finish(sid, "failed", str(exc))
    return summarize(sid, settings, episode_ids)


def summarize(submission_id: int, settings: Settings, episode_ids: list[int] | None = None) -> HarvestSummary:
    sub = SubmissionStore(settings.db_url).get(submission_id)
    summary = HarvestSummary(submission_id=sub.id, status=sub.status, error=sub.error)
    if sub.environment_id is not None:
        summary.environment = EnvironmentSummary.from_row(
            EnvironmentStore(settings.db_url).get(sub.environment_id)
        )
        summary.tasks_by_family = TaskStore(settings.db_url).count_by_family(sub.environment_id)
        summary.traces = TraceStore(settings.db_url).count(sub.environment_id)
    episodes = EpisodeStore(settings.db_url)
    exits: Counter[str] = Counter()
    for eid in episode_ids or []:
        traj = episodes.trajectory(eid)
        exits[traj.exit_status or traj.status] += 1
        summary.steps += len(traj.steps)
    summary.episodes_by_exit = dict(exits)
    return summary
