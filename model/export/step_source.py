"""Where an export's steps come from, as Arrow columns (`StepColumns`).

PostgreSQL: ADBC's driver, which reads a query through `COPY ... TO STDOUT (FORMAT binary)`
and decodes it into Arrow in C with the GIL released: no Python object per row. Its
connection adopts the export transaction's snapshot (`SET TRANSACTION SNAPSHOT`, as
`pg_dump -j` does), so it reads exactly the store the episode cursor reads. An export in one
process streams all its steps with one ordered query and takes them batch by batch
(`StreamedSteps`); a worker of a parallel export asks for the steps of each batch it is sent
(`BatchedSteps`). The queries are those of SQLite's path and of the episode cursor, rendered
with their integers as literals: ADBC reads parameterized queries through another path that
returns the whole result at once.

SQLite (the embedded store): one SQLAlchemy query per batch (`SqlSteps`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import adbc_driver_postgresql.dbapi as adbc
import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, Select, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from forager.store.models import StepRow
from model.errors import ExportError
from model.export.columns import POOL, StepColumns
from model.export.manifest import Watermark
from model.export.store_reader import episodes_to_export

# What pg_export_snapshot() returns, e.g. 00000003-0000001B-1 (checked before it is used).
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$")

# Rows per Arrow batch of the stream, by size: bounds what is held beyond the current batch.
_STREAM_BATCH_BYTES = 8 << 20


class StepSource(Protocol):
    def steps(self, ids: Sequence[int], up_to: int) -> StepColumns:
        """The steps of episodes `ids` (ascending) in episode and step order, possibly with
        those of other episodes of the reader's batch (`StepColumns.of_episodes` selects).
        `up_to`: the highest episode id of the batch (at least max(ids)); batches come in
        order."""
        ...


_STEP_COLUMNS = (StepRow.episode_id, StepRow.raw_output, StepRow.observation)
_STEP_ORDER = (StepRow.episode_id, StepRow.index)


def steps_of(ids: Sequence[int]) -> Select[tuple[int, str, str]]:
    """The steps of the given episodes, in episode and step order."""
    return select(*_STEP_COLUMNS).where(StepRow.episode_id.in_(list(ids))).order_by(*_STEP_ORDER)


def streamed_steps(since: Watermark, limit: int | None) -> Select[tuple[int, str, str]]:
    """The steps of the episodes an export reads (the episode cursor's own selection), in order."""
    episodes = episodes_to_export(since, limit).subquery()
    return select(*_STEP_COLUMNS).join(episodes, episodes.c.id == StepRow.episode_id).order_by(*_STEP_ORDER)


def _pg_text(query: Select[Any]) -> str:
    # Integers as literals: ADBC reads a parameterized query through a path that returns the
    # whole result at once, a plain one through binary COPY, streamed.
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def export_snapshot(conn: Connection) -> str:
    """The id of the snapshot of `conn`'s transaction, for other connections to adopt."""
    snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    if not _SNAPSHOT_ID.match(snapshot):
        raise ExportError(f"unexpected snapshot id from PostgreSQL: {snapshot!r}")
    return snapshot


def libpq_url(db_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (and ADBC, and psycopg) take it."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def snapshot_connection(conninfo: str, snapshot: str, name: str) -> Iterator[adbc.Connection]:
    """An ADBC connection in a read-only transaction on the given exported snapshot."""
    try:
        conn = adbc.connect(conninfo, autocommit=True)
    except Exception as exc:  # the driver's errors name the server, not the cause's class
        raise ExportError(f"cannot open a second connection to the store for the steps: {exc}") from exc
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET application_name = '{re.sub(r'[^A-Za-z0-9_-]', '', name)}'")
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if not _SNAPSHOT_ID.match(snapshot):
                raise ExportError(f"unexpected snapshot id: {snapshot!r}")
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        yield conn
        with conn.cursor() as cur:
            cur.execute("ROLLBACK")
    finally:
        conn.close()


def _arrow_cursor(conn: adbc.Connection) -> Any:
    cur = conn.cursor()
    cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(_STREAM_BATCH_BYTES)})
    return cur


class BatchedSteps:
    """One query per batch (a parallel export's worker: its episodes are not contiguous)."""

    def __init__(self, conn: adbc.Connection) -> None:
        self.conn = conn

    def steps(self, ids: Sequence[int], up_to: int) -> StepColumns:
        if not ids:
            return StepColumns.empty()
        with _arrow_cursor(self.conn) as cur:
            cur.execute(_pg_text(steps_of(ids)))
            table = cur.fetch_arrow_table()
        return StepColumns.from_table(table)


class StreamedSteps:
    """One ordered query over all the export's episodes, cut at each batch's last id."""

    def __init__(self, conn: adbc.Connection, since: Watermark, limit: int | None) -> None:
        self._cursor = _arrow_cursor(conn)
        self._cursor.execute(_pg_text(streamed_steps(since, limit)))
        self._reader: pa.RecordBatchReader = self._cursor.fetch_record_batch()
        self._held: list[pa.RecordBatch] = []  # read, not yet taken
        self._held_last = -1  # episode id of the last row held
        self._done = False

    def steps(self, ids: Sequence[int], up_to: int) -> StepColumns:
        while not self._done and self._held_last <= up_to:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                self._done = True
                break
            if batch.num_rows:
                self._held.append(batch)
                self._held_last = int(batch.column(0)[-1].as_py())
        if not self._held:
            return StepColumns.empty()
        table = pa.Table.from_batches(self._held)
        cut = int(np.searchsorted(table.column(0).to_numpy(), up_to, side="right"))
        rest = table.slice(cut)
        self._held = rest.to_batches() if rest.num_rows else []
        # One copy, of the batch's rows only. (Steps of episodes the filters dropped are among
        # them: the caller selects its episodes' steps.)
        return StepColumns.from_table(table.slice(0, cut).combine_chunks(memory_pool=POOL))

    def close(self) -> None:
        self._cursor.close()


class SqlSteps:
    """One SQLAlchemy query per batch (SQLite)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def steps(self, ids: Sequence[int], up_to: int) -> StepColumns:
        if not ids:
            return StepColumns.empty()
        return StepColumns.from_rows(list(self.conn.execute(steps_of(ids)).tuples()))
