"""Streaming finished episodes past a watermark (their steps: model.export.step_source).

Episodes come from one server-side cursor (`stream_results` + `yield_per`), in id order, inside
one REPEATABLE READ transaction on PostgreSQL so the export sees one snapshot from start to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, Text, and_, cast, or_, select
from sqlalchemy.orm import Session

from forager.store.models import EnvironmentRow, EpisodeRow, SnapshotRow, SourceRow, TaskRow
from model.export.manifest import Watermark


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
    # JSON columns as their text, parsed here (see _JsonMemo): the driver's json.loads per row
    # was most of the time spent reading episodes.
    cast(EnvironmentRow.test_command, Text),
    TaskRow.kind,
    TaskRow.family,
    TaskRow.problem_statement,
    cast(EpisodeRow.policy, Text),
    EpisodeRow.exit_status,
    EpisodeRow.reward,
)


class _JsonMemo:
    """JSON texts parsed once each: an environment's test command and a policy's settings
    repeat across its episodes, and share one (read-only) value. Holds at most `limit` texts."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._seen: dict[str, Any] = {}

    def __call__(self, text: str | None) -> Any:
        if text is None:
            return None
        value = self._seen.get(text)
        if value is None:
            value = orjson.loads(text)
            if len(self._seen) < self.limit:
                self._seen[text] = value
        return value


def begin_snapshot(session: Session) -> Connection:
    """The session's connection, in a transaction that sees one snapshot of the store."""
    if session.get_bind().dialect.name == "postgresql":
        return session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    return session.connection()  # SQLite: a read transaction is already one snapshot (WAL)


def _past(since: Watermark) -> ColumnElement[bool]:
    """Episodes past the watermark: above its last id, or pending at it."""
    cond = EpisodeRow.id > since.last_id
    return or_(cond, EpisodeRow.id.in_(since.pending)) if since.pending else cond


def _to_export(since: Watermark) -> ColumnElement[bool]:
    return and_(EpisodeRow.status == "finished", _past(since))


def episodes_to_export(since: Watermark, limit: int | None) -> Select[tuple[int]]:
    """The ids of the episodes an export past `since` reads, in order: the one definition the
    episode cursor and the step stream (model.export.step_source) share."""
    return select(EpisodeRow.id).where(_to_export(since)).order_by(EpisodeRow.id).limit(limit)


class EpisodeReader:
    def __init__(self, conn: Connection, since: Watermark, batch: int, limit: int | None = None) -> None:
        self.conn = conn
        self.since = since
        self.batch = batch
        self.limit = limit
        self.max_seen = since.last_id

    def batches(self) -> Iterator[list[EpisodeRecord]]:
        """Finished episodes with id > watermark or pending, in id order (no steps)."""
        query = (
            select(*_EPISODE_COLUMNS)
            .join(EnvironmentRow, EnvironmentRow.id == EpisodeRow.environment_id)
            .join(SnapshotRow, SnapshotRow.id == EnvironmentRow.snapshot_id)
            .join(SourceRow, SourceRow.id == SnapshotRow.source_id)
            .outerjoin(TaskRow, TaskRow.id == EpisodeRow.task_id)
            .where(_to_export(self.since))
            .order_by(EpisodeRow.id)
            .limit(self.limit)
        )
        result = self.conn.execution_options(stream_results=True, yield_per=self.batch).execute(query)
        memo = _JsonMemo()
        for rows in result.partitions():
            records = [
                EpisodeRecord(a, b, c, d, e, f, memo(command), h, i, j, memo(policy), m, n)
                for a, b, c, d, e, f, command, h, i, j, policy, m, n in rows
            ]
            self.max_seen = max(self.max_seen, records[-1].id)
            yield records

    def next_watermark(self) -> Watermark:
        """The watermark after this read: the highest id seen, and the episodes at or below it
        (and past the old watermark, or pending before) that were still running."""
        top = self.max_seen
        pending = self.conn.scalars(
            select(EpisodeRow.id).where(
                EpisodeRow.status != "finished", EpisodeRow.id <= top, _past(self.since)
            )
        ).all()
        return Watermark(last_id=top, pending=sorted(int(i) for i in pending))
