"""Reading and writing stored traces (the `traces` table), and rendering them on read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import defer

from forager.errors import NotFoundError
from forager.store.db import session_scope
from forager.store.models import TraceRow
from forager.traces.models import Trace, parse_trace
from forager.traces.render import render_trace

_BATCH = 200


@dataclass
class Kept:
    """What an environment already holds outside the tests being replaced (caps count it)."""

    per_function: Counter[str] = field(default_factory=Counter)
    digests: set[str] = field(default_factory=set)
    total: int = 0

    def add(self, function: str, digest: str) -> None:
        self.per_function[function] += 1
        self.digests.add(digest)
        self.total += 1


class TraceStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def kept(self, env_id: int, replacing: Iterable[str] | None) -> Kept:
        """Counts per function and digests of the traces that stay when the traces of the tests
        `replacing` are replaced (None: all of the environment's traces are replaced)."""
        if replacing is None:
            return Kept()
        gone = set(replacing)
        kept = Kept()
        with session_scope(self.url) as s:
            rows = s.execute(
                select(TraceRow.test_id, TraceRow.function, TraceRow.digest).where(
                    TraceRow.environment_id == env_id
                )
            )
            for test_id, function, digest in rows:
                if test_id not in gone:
                    kept.add(function, digest)
        return kept

    def replace(self, env_id: int, rows: Iterable[dict[str, Any]], replacing: Iterable[str] | None) -> int:
        """Delete the traces of the tests `replacing` (None: all), insert `rows`; one transaction."""
        count = 0
        with session_scope(self.url) as s:
            query = delete(TraceRow).where(TraceRow.environment_id == env_id)
            if replacing is None:
                s.execute(query)
            else:
                tests = sorted(set(replacing))
                for start in range(0, len(tests), 500):  # bounded IN lists
                    s.execute(query.where(TraceRow.test_id.in_(tests[start : start + 500])))
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append({"environment_id": env_id, **row})
                if len(batch) >= _BATCH:
                    s.execute(insert(TraceRow), batch)
                    count += len(batch)
                    batch = []
            if batch:
                s.execute(insert(TraceRow), batch)
                count += len(batch)
        return count

    def get(self, trace_id: int) -> TraceRow:
        with session_scope(self.url) as s:
            row = s.get(TraceRow, trace_id)
            if row is None:
                raise NotFoundError(f"no trace with id {trace_id}")
            return row

    def list(
        self, env_id: int | None = None, function: str | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[TraceRow]:
        """Rows without their trace JSON (which can be large): use `get` for one trace."""
        with session_scope(self.url) as s:
            query = select(TraceRow).options(defer(TraceRow.trace)).order_by(TraceRow.id)
            if env_id is not None:
                query = query.where(TraceRow.environment_id == env_id)
            if function is not None:
                query = query.where(TraceRow.function == function)
            return s.scalars(query.limit(limit).offset(offset)).all()

    def count(self, env_id: int) -> int:
        with session_scope(self.url) as s:
            return int(
                s.scalar(select(func.count()).select_from(TraceRow).where(TraceRow.environment_id == env_id))
                or 0
            )


def load(row: TraceRow) -> Trace:
    return parse_trace(row.trace)


def render_row(row: TraceRow) -> str:
    """The stored trace in CWM's token format; an unusable trace (stored only when asked for)
    renders as far as it was recorded."""
    return render_trace(load(row), require_complete=False)
