"""The dashboard's aggregates over the whole store: the overview's counts and time series,
and the plots.

Each reads indexed columns (status, exit status, finish time) or a bounded slice (the newest
steps), so that it costs milliseconds on a store of millions of steps; time buckets are
computed in SQL on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, case, cast, func, select
from sqlalchemy.orm import Session

from api.metrics import environment_reason_bucket
from api.ui.schemas import Histogram, Overview, Plots, TimeSeries, VerifiedShare
from forager.store.models import EnvironmentRow, EpisodeRow, StepRow, SubmissionRow, TaskRow

# Step latency buckets (ms), log-spaced; the last bucket is open.
LATENCY_EDGES_MS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 3e4, 6e4, 12e4)
LATENCY_SAMPLE = 20_000  # newest steps in the step latency histogram
VERIFIED_SHARE_SUBMISSIONS = 40


# ------------------------------------------------------------------------------ overview


def _epoch_bucket(col: Any, seconds: int, dialect: str) -> ColumnElement[Any]:
    """The start of `col`'s time bucket, in seconds since the epoch (timestamps are UTC)."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", col) / seconds) * seconds, BigInteger)
    return cast(func.strftime("%s", col), Integer) // seconds * seconds


def _buckets(now: datetime, seconds: int, count: int) -> list[int]:
    end = int(now.timestamp() if now.tzinfo else (now - datetime(1970, 1, 1)).total_seconds())
    last = end // seconds * seconds
    return [last - seconds * (count - 1 - i) for i in range(count)]


def _series(rows: Sequence[Any], starts: list[int], seconds: int) -> TimeSeries:
    """(bucket start, label, count) rows as one list of counts per label."""
    slot = {b: i for i, b in enumerate(starts)}
    series: dict[str, list[int]] = {}
    for bucket, label, n in rows:
        i = slot.get(int(bucket))
        if i is not None:
            series.setdefault(str(label), [0] * len(starts))[i] += int(n)
    return TimeSeries(
        bucket_s=seconds,
        starts=[datetime(1970, 1, 1) + timedelta(seconds=b) for b in starts],
        series=dict(sorted(series.items())),
    )


def status_counts(s: Session) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, col in (
        ("submissions", SubmissionRow.status),
        ("environments", EnvironmentRow.status),
        ("episodes", EpisodeRow.status),
    ):
        out[name] = {str(k): int(n) for k, n in s.execute(select(col, func.count()).group_by(col))}
    return out


def overview(s: Session, now: datetime) -> Overview:
    """The store's side of the overview (the broker's is added by the route)."""
    counts = status_counts(s)
    series, rate = throughput(s, now)
    return Overview(
        now=now,
        submissions=counts["submissions"],
        environments=counts["environments"],
        episodes=counts["episodes"],
        episodes_per_min=rate,
        throughput=series,
        failures=failures(s, now),
    )


def throughput(s: Session, now: datetime, minutes: int = 60) -> tuple[TimeSeries, float]:
    """Episodes finished per minute over the last hour, and the rate over the last 10 minutes."""
    dialect = s.get_bind().dialect.name
    starts = _buckets(now, 60, minutes)
    since = datetime(1970, 1, 1) + timedelta(seconds=starts[0])
    bucket = _epoch_bucket(EpisodeRow.finished_at, 60, dialect)
    rows = s.execute(
        select(bucket, func.count()).where(EpisodeRow.finished_at >= since).group_by(bucket)
    ).all()
    series = _series([(b, "finished", n) for b, n in rows], starts, 60)
    counts = series.series.get("finished", [0] * minutes)
    recent = counts[-10:]
    return series, round(sum(recent) / len(recent), 2)


def failures(s: Session, now: datetime, hours: int = 24) -> TimeSeries:
    """Per hour: episodes that ended other than submitted (by exit status), failed
    environments (by reason) and failed submissions (by the stage they failed at)."""
    dialect = s.get_bind().dialect.name
    starts = _buckets(now, 3600, hours)
    since = datetime(1970, 1, 1) + timedelta(seconds=starts[0])
    ep_bucket = _epoch_bucket(EpisodeRow.finished_at, 3600, dialect)
    env_bucket = _epoch_bucket(EnvironmentRow.updated_at, 3600, dialect)
    sub_bucket = _epoch_bucket(SubmissionRow.updated_at, 3600, dialect)
    rows: list[Any] = []
    rows += s.execute(
        select(ep_bucket, "episode:" + EpisodeRow.exit_status, func.count())
        .where(EpisodeRow.finished_at >= since, EpisodeRow.exit_status != "submitted")
        .group_by(ep_bucket, EpisodeRow.exit_status)
    ).all()
    reason = environment_reason_bucket()
    rows += s.execute(
        select(env_bucket, "environment:" + reason, func.count())
        .where(EnvironmentRow.status == "failed", EnvironmentRow.updated_at >= since)
        .group_by(env_bucket, reason)
    ).all()
    rows += s.execute(
        select(sub_bucket, "submission:" + SubmissionRow.stage, func.count())
        .where(SubmissionRow.status == "failed", SubmissionRow.updated_at >= since)
        .group_by(sub_bucket, SubmissionRow.stage)
    ).all()
    return _series(rows, starts, 3600)


# ------------------------------------------------------------------------------ plots


def plots(s: Session) -> Plots:
    return Plots(
        verified_share=verified_share(s, VERIFIED_SHARE_SUBMISSIONS),
        tasks_per_family={
            str(f): int(n)
            for f, n in s.execute(
                select(TaskRow.family, func.count()).group_by(TaskRow.family).order_by(TaskRow.family)
            )
        },
        exit_status={
            str(e): int(n)
            for e, n in s.execute(
                select(EpisodeRow.exit_status, func.count())
                .where(EpisodeRow.status == "finished")
                .group_by(EpisodeRow.exit_status)
                .order_by(EpisodeRow.exit_status)
            )
        },
        episode_length=episode_length(s),
        step_latency=step_latency(s, LATENCY_SAMPLE),
    )


def verified_share(s: Session, limit: int) -> list[VerifiedShare]:
    """The newest submissions that have an environment: their finished episodes, and how many
    of those were verified by the task's tests (reward 1)."""
    subs = s.execute(
        select(SubmissionRow.id, SubmissionRow.source, SubmissionRow.environment_id)
        .where(SubmissionRow.environment_id.isnot(None))
        .order_by(SubmissionRow.id.desc())
        .limit(limit)
    ).all()
    env_ids = sorted({int(r.environment_id) for r in subs})
    stats: dict[int, tuple[int, int]] = {}
    if env_ids:
        verified = func.sum(case((EpisodeRow.reward >= 1.0, 1), else_=0))
        for env, n, v in s.execute(
            select(EpisodeRow.environment_id, func.count(), verified)
            .where(EpisodeRow.environment_id.in_(env_ids), EpisodeRow.status == "finished")
            .group_by(EpisodeRow.environment_id)
        ):
            stats[int(env)] = (int(n), int(v or 0))
    return [
        VerifiedShare(
            submission_id=r.id,
            source=r.source,
            environment_id=r.environment_id,
            episodes=stats.get(r.environment_id, (0, 0))[0],
            verified=stats.get(r.environment_id, (0, 0))[1],
        )
        for r in reversed(subs)
    ]


def episode_length(s: Session) -> Histogram:
    steps = EpisodeRow.totals["steps"].as_integer()
    rows = s.execute(select(steps, func.count()).where(EpisodeRow.status == "finished").group_by(steps)).all()
    lengths = {int(n or 0): int(c) for n, c in rows}
    top = max(lengths, default=0)
    width = _nice_width(top + 1, 40)
    edges = [float(i * width) for i in range((top // width) + 2)]
    counts = [0] * (len(edges) - 1)
    for n, c in lengths.items():
        counts[n // width] += c
    return Histogram(edges=edges, counts={"episodes": counts}, sample=sum(counts))


def step_latency(s: Session, sample: int) -> Histogram:
    """Model and execution time of the newest `sample` steps, on log-spaced buckets (counted
    in the database: only a few hundred (llm bucket, exec bucket) pairs come back)."""
    newest = select(StepRow.llm_ms, StepRow.exec_ms).order_by(StepRow.id.desc()).limit(sample).subquery()
    llm_b, exec_b = _bucket_of(newest.c.llm_ms), _bucket_of(newest.c.exec_ms)
    n_buckets = len(LATENCY_EDGES_MS)
    llm, exe = [0] * n_buckets, [0] * n_buckets
    for lb, eb, n in s.execute(select(llm_b, exec_b, func.count()).group_by(llm_b, exec_b)):
        llm[int(lb)] += int(n)
        exe[int(eb)] += int(n)
    # The last bucket is open; JSON has no infinity, so it closes at ten times its start.
    edges = [float(e) for e in LATENCY_EDGES_MS] + [float(LATENCY_EDGES_MS[-1]) * 10]
    return Histogram(edges=edges, counts={"llm_ms": llm, "exec_ms": exe}, sample=sum(llm))


def _bucket_of(col: Any) -> ColumnElement[Any]:
    """The index of the latency bucket that holds `col` (past the last edge, or NULL: the last)."""
    whens = [(col < edge, i - 1) for i, edge in enumerate(LATENCY_EDGES_MS) if i > 0]
    return case(*whens, else_=len(LATENCY_EDGES_MS) - 1)


def _nice_width(span: int, max_bins: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that splits `span` into at most max_bins."""
    width, step = 1, 0
    while math.ceil(span / width) > max_bins:
        step += 1
        width = (1, 2, 5)[step % 3] * 10 ** (step // 3)
    return width
