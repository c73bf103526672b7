"""Traces from the store for `export_trace_shards`: complete traces past a watermark, in id
order, each with its repository's source so that it lands on that repository's split side
(the same side as the repository's episodes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from forager.store.db import session_scope
from forager.store.models import EnvironmentRow, SnapshotRow, SourceRow, TraceRow
from forager.traces.store import render_row
from model.export.layout import ExportDir
from model.export.manifest import ExportManifest
from model.export.traces import TraceExportOptions, TraceText, export_trace_shards

BATCH = 500


def stored_traces(url: str, after_id: int = 0, limit: int | None = None) -> Iterator[TraceText]:
    """Complete traces with id > after_id, rendered in CWM's format, read in batches."""
    last, sent = after_id, 0
    while limit is None or sent < limit:
        size = BATCH if limit is None else min(BATCH, limit - sent)
        with session_scope(url) as s:
            rows = s.execute(
                select(TraceRow, SourceRow.spec)
                .join(EnvironmentRow, EnvironmentRow.id == TraceRow.environment_id)
                .join(SnapshotRow, SnapshotRow.id == EnvironmentRow.snapshot_id)
                .join(SourceRow, SourceRow.id == SnapshotRow.source_id)
                .where(TraceRow.id > last, TraceRow.status == "complete")
                .order_by(TraceRow.id)
                .limit(size)
            ).all()
            batch = [TraceText(text=render_row(row), trace_id=row.id, repo=spec) for row, spec in rows]
        if not batch:
            return
        yield from batch
        sent += len(batch)
        last = batch[-1].trace_id or last


def export_store_traces(
    url: str, out_dir: Path, options: TraceExportOptions | None = None, limit: int | None = None
) -> ExportManifest:
    """One incremental trace export: the traces stored since the folder's last trace export."""
    previous = ExportDir(out_dir).last_manifest("traces")
    after = previous.watermark.last_id if previous is not None and previous.watermark is not None else 0
    return export_trace_shards(stored_traces(url, after, limit), out_dir, options)
