"""The stages of a submission, each a plain function of ids that records its progress.

Every stage is idempotent: run again (a redelivered job) it finds its earlier result and
goes on from there instead of doing the work twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from forager.agent.episode import run_episode
from forager.agent.models import Limits
from forager.agent.policies import OpenAIPolicyConfig
from forager.config import Settings
from forager.envs.pipeline import build_environment
from forager.errors import ForagerError
from forager.pipeline.options import HarvestOptions
from forager.protocols import NullReporter, Reporter
from forager.sources.ingest import Snapshot, ingest
from forager.sources.spec import parse_source
from forager.store.environments import EnvironmentStore
from forager.store.submissions import SubmissionStore
from forager.store.tasks import TaskStore
from forager.tasks.errors import TaskGenerationError
from forager.tasks.generate import GenerateOptions, generate_tasks
from forager.tasks.history import HistoryOptions, generate_history_tasks
from forager.traces.collect import CollectOptions, collect_traces
from forager.traces.errors import TraceError
from forager.traces.store import TraceStore


class Cancelled(ForagerError):
    """The submission was cancelled; stages stop at their next check."""


@dataclass(frozen=True)
class EpisodeJob:
    submission_id: int
    environment_id: int
    task_id: int | None
    seed: int

    @property
    def key(self) -> str:
        return f"sub{self.submission_id}-env{self.environment_id}-task{self.task_id or 0}-seed{self.seed}"


def _options(subs: SubmissionStore, submission_id: int) -> HarvestOptions:
    return HarvestOptions.model_validate(subs.get(submission_id).options)


def _check(subs: SubmissionStore, submission_id: int) -> None:
    if subs.cancelled(submission_id):
        raise Cancelled(f"submission {submission_id} was cancelled")


def ingest_stage(submission_id: int, settings: Settings, reporter: Reporter | None = None) -> int:
    """Fetch the source and record its snapshot; returns the snapshot id."""
    subs = SubmissionStore(settings.db_url)
    sub = subs.get(submission_id)
    if sub.snapshot_id is not None:
        return sub.snapshot_id
    _check(subs, submission_id)
    subs.stage(submission_id, "ingest")
    snap = ingest(parse_source(sub.source, sub.ref), settings, reporter)
    snapshot_id = EnvironmentStore(settings.db_url).save_snapshot(snap)
    subs.set(submission_id, snapshot_id=snapshot_id)
    subs.stage(submission_id, "ingest", "done", commit=snap.commit_sha, files=snap.file_count)
    return snapshot_id


def build_stage(submission_id: int, settings: Settings, reporter: Reporter | None = None) -> int | None:
    """Build and validate the environment; returns its id when verified, else None."""
    subs = SubmissionStore(settings.db_url)
    sub = subs.get(submission_id)
    envs = EnvironmentStore(settings.db_url)
    if sub.environment_id is not None:
        env = envs.get(sub.environment_id)
        if env.status != "building":
            return env.id if env.status == "verified" else None
    _check(subs, submission_id)
    assert sub.snapshot_id is not None, "ingest first"
    existing = envs.find_verified(sub.snapshot_id)
    if existing is not None:
        subs.set(submission_id, environment_id=existing)
        subs.stage(submission_id, "build", "done", environment=existing, reused=True)
        return existing
    subs.stage(submission_id, "build")
    snap_row = envs.snapshot(sub.snapshot_id)
    snap = Snapshot(
        source=parse_source(sub.source, sub.ref),
        commit_sha=snap_row.commit_sha,
        name=snap_row.name,
        repo_dir=snap_row.repo_path,
        file_count=snap_row.file_count,
        total_bytes=snap_row.total_bytes,
        ref=sub.ref,
    )
    summary = build_environment(snap, sub.snapshot_id, settings, envs, reporter)
    subs.set(submission_id, environment_id=summary.id)
    verified = summary.status == "verified"
    subs.stage(
        submission_id,
        "build",
        "done" if verified else "failed",
        environment=summary.id,
        tests_passed=summary.tests_passed,
        reason=summary.reason,
    )
    return summary.id if verified else None


def tasks_stage(submission_id: int, settings: Settings, reporter: Reporter | None = None) -> list[int]:
    """Generate (or find) the environment's tasks; returns their ids."""
    subs = SubmissionStore(settings.db_url)
    sub = subs.get(submission_id)
    options = _options(subs, submission_id)
    assert sub.environment_id is not None, "build first"
    tasks = TaskStore(settings.db_url)
    done = sub.progress.get("tasks", {}).get("status") in ("done", "failed")
    if not done and options.max_tasks > 0:
        _check(subs, submission_id)
        subs.stage(submission_id, "tasks")
        try:
            report = generate_tasks(
                sub.environment_id,
                settings,
                GenerateOptions(
                    max_tasks=options.max_tasks, families=options.task_families, seed=options.seed
                ),
                reporter,
            )
        except TaskGenerationError as exc:
            # No tasks for this environment (e.g. no test-to-code map): episodes without a
            # task can still run in it.
            subs.stage(submission_id, "tasks", "failed", reason=str(exc)[:500])
            return []
        history = 0
        if options.history_tasks:
            history = len(
                generate_history_tasks(
                    sub.environment_id,
                    settings,
                    HistoryOptions(max_tasks=max(1, options.max_tasks // 4)),
                    reporter,
                ).task_ids
            )
        subs.stage(
            submission_id,
            "tasks",
            "done",
            mutate_fix=len(report.task_ids),
            issue_fix=history,
            candidates=report.candidates_tried,
            dropped=report.dropped_by_reason,
        )
    elif not done:
        subs.stage(submission_id, "tasks", "skipped")
    return [t.id for t in tasks.list(environment_id=sub.environment_id, limit=100_000)][: options.max_tasks]


def traces_stage(submission_id: int, settings: Settings, reporter: Reporter | None = None) -> int:
    """Collect execution traces of the environment's suite when the submission asks for them;
    returns the environment's trace count. Traces are extra data: a failed collection is
    recorded on the stage and the submission goes on."""
    subs = SubmissionStore(settings.db_url)
    sub = subs.get(submission_id)
    options = _options(subs, submission_id)
    assert sub.environment_id is not None, "build first"
    traces = TraceStore(settings.db_url)
    status = sub.progress.get("traces", {}).get("status")
    if not options.traces or status in ("done", "failed"):
        return traces.count(sub.environment_id)
    _check(subs, submission_id)
    existing = traces.count(sub.environment_id)
    if existing:  # the environment was traced before (another submission of the same snapshot)
        subs.stage(submission_id, "traces", "done", traces=existing, reused=True)
        return existing
    subs.stage(submission_id, "traces")
    try:
        report = collect_traces(
            sub.environment_id,
            settings,
            reporter=reporter,
            options=CollectOptions(max_traces=options.max_traces),
        )
    except TraceError as exc:
        subs.stage(submission_id, "traces", "failed", reason=str(exc)[:500])
        return 0
    subs.stage(
        submission_id,
        "traces",
        "done",
        traces=report.traces_collected,
        functions=report.functions,
        bytes=report.bytes,
        outcome_changes=len(report.outcome_changes),
    )
    return report.traces_collected


def episode_jobs(submission_id: int, settings: Settings, task_ids: list[int]) -> list[EpisodeJob]:
    subs = SubmissionStore(settings.db_url)
    sub = subs.get(submission_id)
    options = _options(subs, submission_id)
    assert sub.environment_id is not None
    jobs = [
        EpisodeJob(submission_id, sub.environment_id, None, options.seed + i)
        for i in range(options.explore_episodes)
    ]
    for task_id in task_ids[: options.max_task_episodes]:
        jobs += [
            EpisodeJob(submission_id, sub.environment_id, task_id, options.seed + i)
            for i in range(options.episodes_per_task)
        ]
    subs.stage(submission_id, "episodes", "running", total=len(jobs))
    return jobs


def episode_stage(job: EpisodeJob, settings: Settings, reporter: Reporter | None = None) -> int:
    """Run one episode (idempotent by its key); returns the episode id."""
    subs = SubmissionStore(settings.db_url)
    _check(subs, job.submission_id)
    options = _options(subs, job.submission_id)
    policy = options.policy
    if isinstance(policy, OpenAIPolicyConfig):
        # The endpoint is the service's, never the submitter's (no requests to arbitrary hosts).
        policy = policy.model_copy(update={"base_url": settings.policy_base_url})
    traj = run_episode(
        job.environment_id,
        settings,
        policy,
        task_id=job.task_id,
        seed=job.seed,
        limits=Limits(max_steps=options.max_steps, max_wall_s=options.max_wall_s),
        idempotency_key=job.key,
        reporter=reporter or NullReporter(),
    )
    return traj.episode_id


def finish_stage(submission_id: int, settings: Settings, episode_ids: list[int]) -> None:
    subs = SubmissionStore(settings.db_url)
    subs.stage(submission_id, "episodes", "done", total=len(episode_ids), episodes=len(episode_ids))
    subs.finish(submission_id, "done")
