"""Prometheus metrics: the data engine's state, read from the store and broker on scrape.

Counts come from cheap aggregate SQL (GROUP BY over indexed status columns) rather than
in-process counters, so every API replica reports the same truth and a restart loses
nothing. The results are cached for a few seconds so that several scrapers (or replicas
behind one Service) do not multiply the load.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, case, cast, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime

from forager.config import Settings
from forager.store.db import session_scope
from forager.store.models import EnvironmentRow, EpisodeRow, SubmissionRow
from forager.store.submissions import STAGES
from workers.dispatch import BrokerUnavailableError, queue_depths

log = structlog.get_logger("forager.api")
# `*_created` series would double the series count for a timestamp nobody graphs.
disable_created_metrics()

# Stages last from seconds (ingest of a small sdist) to hours (thousands of episodes).
STAGE_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0)
EPISODE_FAILURES = ("format_error", "env_error", "policy_error")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")


class RequestMetrics:
    """Per-route request counts and latencies of this API process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "forager_api_requests",
            "HTTP requests served, by route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "forager_api_request_duration_seconds",
            "HTTP request latency, by route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


@dataclass
class StageHistogram:
    buckets: list[tuple[str, float]]  # cumulative counts per upper bound, "+Inf" last
    count: int
    total: float


@dataclass
class StoreSnapshot:
    submissions: dict[str, int] = field(default_factory=dict)
    environments: dict[str, int] = field(default_factory=dict)
    episodes: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, exit_status)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, reason)
    stages: dict[str, StageHistogram] = field(default_factory=dict)


def environment_reason_bucket() -> ColumnElement[str]:
    """Failed environments' free-text reasons, in a handful of label values (a label per
    distinct message would explode Prometheus' series count)."""
    r = func.coalesce(EnvironmentRow.reason, "")
    return case(
        (r.like("build failed%"), "build_failed"),
        (r.like("no tests were collected%"), "no_tests_collected"),
        (r.like("% tests passed (need %"), "too_few_tests_passed"),
        (r.like("environment error:%"), "environment_error"),
        (r.like("interrupted:%"), "interrupted"),
        (r.like("no install plan%"), "no_install_plan"),
        (r.like("%no Python code%"), "not_python"),
        (r.like("%Python versions%"), "no_python_version"),
        else_="other",
    )


def _error_class(dialect: str) -> ColumnElement[str]:
    """The exception name that failed submissions' errors start with ("BuildError: ...")."""
    e = func.coalesce(SubmissionRow.error, "")
    if dialect == "postgresql":
        return func.split_part(e, ":", 1)
    pos = func.instr(e, ":")
    return case((pos > 0, func.substr(e, 1, pos - 1)), else_=e)


def _stage_seconds(progress: Any, stage: str, dialect: str) -> ColumnElement[float]:
    """Seconds between a stage's started_at and finished_at (ISO texts in `progress`); NULL
    while either is missing."""
    seconds: ColumnElement[Any]
    if dialect == "postgresql":
        started = progress[(stage, "started_at")].astext
        finished = progress[(stage, "finished_at")].astext
        seconds = func.extract("epoch", cast(finished, DateTime) - cast(started, DateTime))
    else:
        started = progress[(stage, "started_at")].as_string()
        finished = progress[(stage, "finished_at")].as_string()
        seconds = (func.julianday(finished) - func.julianday(started)) * literal(86400.0)
    return cast(seconds, Float)


def _stage_histograms(session: Session, dialect: str) -> dict[str, StageHistogram]:
    """Every stage's duration histogram in one scan of `submissions`.

    The durations are computed once per row in a materialized CTE, then counted per bucket
    (an expression per bucket would compute them again for each).
    """
    progress: Any = SubmissionRow.progress
    if dialect == "postgresql":
        # `json` is text: every -> would parse it again. Parse once per row into jsonb (OFFSET 0
        # keeps the planner from folding the cast back into each use).
        parsed = select(cast(SubmissionRow.progress, JSONB).label("p")).offset(0).subquery()
        progress = parsed.c.p
    durations = (
        select(*(_stage_seconds(progress, st, dialect).label(st) for st in STAGES))
        .cte("durations")
        .prefix_with("MATERIALIZED")
    )
    parts = []
    for st in STAGES:
        col = durations.c[st]
        bucket = case(*((col <= b, i) for i, b in enumerate(STAGE_BUCKETS)), else_=len(STAGE_BUCKETS)).label(
            "bucket"
        )
        parts.append(
            select(literal(st).label("stage"), bucket, func.count().label("n"), func.sum(col).label("total"))
            .where(col.is_not(None))
            .group_by(bucket)
        )
    counts: dict[str, list[int]] = {st: [0] * (len(STAGE_BUCKETS) + 1) for st in STAGES}
    totals: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    for stage, bucket_index, n, total in session.execute(union_all(*parts)):
        counts[stage][int(bucket_index)] += int(n)
        totals[stage] += float(total or 0.0)
    out: dict[str, StageHistogram] = {}
    for st in STAGES:
        cumulative, running = [], 0
        for i, n in enumerate(counts[st]):
            running += n
            bound = _fmt(STAGE_BUCKETS[i]) if i < len(STAGE_BUCKETS) else "+Inf"
            cumulative.append((bound, float(running)))
        out[st] = StageHistogram(cumulative, running, totals[st])
    return out


def read_snapshot(session: Session) -> StoreSnapshot:
    dialect = session.get_bind().dialect.name
    snap = StoreSnapshot()
    for status, n in session.execute(
        select(SubmissionRow.status, func.count()).group_by(SubmissionRow.status)
    ):
        snap.submissions[status] = int(n)
    for status, n in session.execute(
        select(EnvironmentRow.status, func.count()).group_by(EnvironmentRow.status)
    ):
        snap.environments[status] = int(n)
    for status, exit_status, n in session.execute(
        select(EpisodeRow.status, EpisodeRow.exit_status, func.count()).group_by(
            EpisodeRow.status, EpisodeRow.exit_status
        )
    ):
        snap.episodes[(status, exit_status or "none")] = int(n)
        if exit_status in EPISODE_FAILURES:
            snap.failures[("episode", exit_status)] = int(n)
    bucket = environment_reason_bucket().label("bucket")
    for reason, n in session.execute(
        select(bucket, func.count()).where(EnvironmentRow.status == "failed").group_by(bucket)
    ):
        snap.failures[("environment", reason)] = int(n)
    cls = _error_class(dialect).label("cls")
    for name, n in session.execute(
        select(cls, func.count()).where(SubmissionRow.status == "failed").group_by(cls)
    ):
        label = str(name).strip()
        label = label if _IDENT.match(label) else "other"
        key = ("submission", label)
        snap.failures[key] = snap.failures.get(key, 0) + int(n)
    snap.stages = _stage_histograms(session, dialect)
    return snap


def _fmt(bound: float) -> str:
    return f"{bound:g}"


class StoreCollector(Collector):
    """Queries the store and the broker when Prometheus scrapes (at most every `cache_s`)."""

    def __init__(self, settings: Settings, cache_s: float) -> None:
        self.settings, self.cache_s = settings, cache_s
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def describe(self) -> Iterable[Metric]:
        # Nothing up front: describing would run the queries at registration time.
        return []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.cache_s:
                self._cached = (now, self._build())
            metrics = self._cached[1]
        yield from metrics

    def _build(self) -> list[Metric]:
        out: list[Metric] = []
        store_up = GaugeMetricFamily("forager_store_up", "1 when the store answered the last scrape")
        try:
            with session_scope(self.settings.db_url) as s:
                snap = read_snapshot(s)
            store_up.add_metric([], 1)
            out += self._store_metrics(snap)
        except Exception as exc:  # report the outage as a metric, not as a failed scrape
            log.warning("metrics.store_failed", error=repr(exc))
            store_up.add_metric([], 0)
        out.append(store_up)
        out += self._broker_metrics()
        return out

    def _store_metrics(self, snap: StoreSnapshot) -> list[Metric]:
        subs = GaugeMetricFamily("forager_submissions", "Submissions by status", labels=["status"])
        for status, n in sorted(snap.submissions.items()):
            subs.add_metric([status], n)
        envs = GaugeMetricFamily("forager_environments", "Environments by status", labels=["status"])
        for status, n in sorted(snap.environments.items()):
            envs.add_metric([status], n)
        eps = GaugeMetricFamily(
            "forager_episodes", "Episodes by status and exit status", labels=["status", "exit_status"]
        )
        finished = 0
        for (status, exit_status), n in sorted(snap.episodes.items()):
            eps.add_metric([status, exit_status], n)
            if status == "finished":
                finished += n
        # A counter of what the store holds: rate() over it is episodes finished per second.
        done = CounterMetricFamily("forager_episodes_finished", "Episodes finished (all time)")
        done.add_metric([], finished)
        fails = GaugeMetricFamily(
            "forager_failures",
            "Failed environments (reason bucket), submissions (error class) and episodes (exit status)",
            labels=["kind", "reason"],
        )
        for (kind, reason), n in sorted(snap.failures.items()):
            fails.add_metric([kind, reason], n)
        stages = HistogramMetricFamily(
            "forager_stage_duration_seconds",
            "Duration of finished pipeline stages of submissions",
            labels=["stage"],
        )
        for stage, h in snap.stages.items():
            stages.add_metric([stage], h.buckets, sum_value=h.total)
        return [subs, envs, eps, done, fails, stages]

    def _broker_metrics(self) -> list[Metric]:
        up = GaugeMetricFamily("forager_broker_up", "1 when the broker answered the last scrape")
        depth = GaugeMetricFamily("forager_queue_depth", "Messages waiting per queue", labels=["queue"])
        try:
            for queue, n in queue_depths(self.settings).items():
                depth.add_metric([queue], n)
            up.add_metric([], 1)
        except BrokerUnavailableError as exc:
            log.warning("metrics.broker_failed", error=str(exc))
            up.add_metric([], 0)
            return [up]
        return [up, depth]


def make_registry(settings: Settings, cache_s: float) -> tuple[CollectorRegistry, RequestMetrics]:
    """A registry per app (not the global one): tests and embedded apps may make several."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(settings, cache_s))
    return registry, RequestMetrics(registry)
