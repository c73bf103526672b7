"""Streaming finished episodes past a watermark, with their steps loaded in bulk per batch.

Episodes come from one server-side cursor (`stream_results` + `yield_per`), in id order, inside
one REPEATABLE READ transaction on PostgreSQL so the export sees one snapshot from start to end.
Per batch of episodes, one query fetches all their steps: never one query per episode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import Session

from forager.store.models import EnvironmentRow, EpisodeRow, SnapshotRow, SourceRow, StepRow, TaskRow
from model.export.manifest import Watermark
from model.export.minhash import U32, U64


@dataclass(slots=True)
class EpisodeRecord:
    id: int
    environment_id: int
    task_id: int | None
    source: str
    repo_name: str
    python_version: str | None
    test_command: list[Any]
    task_kind: str | None
    task_family: str | None
    problem_statement: str | None
    policy: dict[str, Any]
    exit_status: str | None
    reward: float | None
    actions: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    # Filled per batch before formatting (see model.export.run): loss flag per observation,
    # and the action shingles, MinHash signature and LSH band keys when near-dedup is on.
    observation_loss: list[bool] = field(default_factory=list)
    shingles: U64 | None = None
    signature: U32 | None = None
    band_keys: list[bytes] | None = None

    @property
    def policy_kind(self) -> str | None:
        kind = self.policy.get("kind") if isinstance(self.policy, dict) else None
        return str(kind) if kind is not None else None

    @property
    def policy_model(self) -> str | None:
        model = self.policy.get("model") if isinstance(self.policy, dict) else None
        return str(model) if model is not None else None


_EPISODE_COLUMNS = (
    EpisodeRow.id,
    EpisodeRow.environment_id,
    EpisodeRow.task_id,
    SourceRow.spec,
    SnapshotRow.name,
    EnvironmentRow.python_version,
    EnvironmentRow.test_command,
    TaskRow.kind,
    TaskRow.family,
    TaskRow.problem_statement,
    EpisodeRow.policy,
    EpisodeRow.exit_status,
    EpisodeRow.reward,
)


_PG_STEPS = (
    "SELECT episode_id, raw_output, observation FROM steps "
    "WHERE episode_id = ANY(%s) ORDER BY episode_id, index"
)


def pg_steps(conn: psycopg.Connection[Any], ids: list[int]) -> list[tuple[int, str, str]]:
    """The steps of the given episodes, in episode and step order, on a psycopg connection.

    psycopg's binary protocol, on the caller's connection (and so its snapshot): SQLAlchemy's
    row processing and the server's text encoding doubled the time of this fetch, the bulk of
    the export's reading.
    """
    with conn.cursor(binary=True) as cur:
        cur.execute(_PG_STEPS, (ids,))
        rows: list[tuple[int, str, str]] = cur.fetchall()
    return rows


def attach_steps(records: list[EpisodeRecord], rows: Iterable[tuple[int, str, str]]) -> int:
    """Append each step row (episode id, action, observation; in episode and step order) to
    its episode's record; returns the rows seen.

    Column-wise (the transposition, the counting and the slicing run in C): a Python loop
    per step row cost about as much as decoding the rows."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    episode_ids, actions, observations = zip(*rows, strict=True)
    by_id = {r.id: r for r in records}
    start = 0
    for episode_id, n in Counter(episode_ids).items():  # first-seen order: the rows' order
        end = start + n
        record = by_id[episode_id]
        if episode_ids[end - 1] != episode_id:
            raise ValueError("step rows are not grouped by episode")
        record.actions += actions[start:end]
        record.observations += observations[start:end]
        start = end
    return len(rows)


def begin_snapshot(session: Session) -> Connection:
    """The session's connection, in a transaction that sees one snapshot of the store."""
    if session.get_bind().dialect.name == "postgresql":
        return session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    return session.connection()  # SQLite: a read transaction is already one snapshot (WAL)


class EpisodeReader:
    def __init__(self, conn: Connection, since: Watermark, batch: int, limit: int | None = None) -> None:
        self.conn = conn
        self.since = since
        self.batch = batch
        self.limit = limit
        self.max_seen = since.last_id

    def batches(self) -> Iterator[list[EpisodeRecord]]:
        """Finished episodes with id > watermark or pending, in id order, steps attached."""
        cond = EpisodeRow.id > self.since.last_id
        if self.since.pending:
            cond = or_(cond, EpisodeRow.id.in_(self.since.pending))
        query = (
            select(*_EPISODE_COLUMNS)
            .join(EnvironmentRow, EnvironmentRow.id == EpisodeRow.environment_id)
            .join(SnapshotRow, SnapshotRow.id == EnvironmentRow.snapshot_id)
            .join(SourceRow, SourceRow.id == SnapshotRow.source_id)
            .outerjoin(TaskRow, TaskRow.id == EpisodeRow.task_id)
            .where(EpisodeRow.status == "finished", cond)
            .order_by(EpisodeRow.id)
        )
        if self.limit is not None:
            query = query.limit(self.limit)
        result = self.conn.execution_options(stream_results=True, yield_per=self.batch).execute(query)
        for rows in result.partitions():
            records = [EpisodeRecord(*row) for row in rows]
            self.max_seen = max(self.max_seen, records[-1].id)
            yield records

    def attach_steps(self, records: list[EpisodeRecord]) -> int:
        """Fill actions and observations of the given episodes with one query; returns steps read."""
        if not records:
            return 0
        return attach_steps(records, self.step_rows([r.id for r in records]))

    def step_rows(self, ids: list[int]) -> Iterable[tuple[int, str, str]]:
        """(episode id, action, observation) of the given episodes' steps, in order (one query)."""
        if self.conn.dialect.name == "postgresql" and self.conn.dialect.driver == "psycopg":
            raw = self.conn.connection.driver_connection
            assert raw is not None
            return pg_steps(raw, ids)
        return self.conn.execute(
            select(StepRow.episode_id, StepRow.raw_output, StepRow.observation)
            .where(StepRow.episode_id.in_(ids))
            .order_by(StepRow.episode_id, StepRow.index)
        ).tuples()

    def next_watermark(self) -> Watermark:
        """The watermark after this read: the highest id seen, and the episodes at or below it
        (and past the old watermark, or pending before) that were still running."""
        top = self.max_seen
        cond = EpisodeRow.id > self.since.last_id
        if self.since.pending:
            cond = or_(cond, EpisodeRow.id.in_(self.since.pending))
        pending = self.conn.scalars(
            select(EpisodeRow.id).where(EpisodeRow.status != "finished", EpisodeRow.id <= top, cond)
        ).all()
        return Watermark(last_id=top, pending=sorted(int(i) for i in pending))
