"""Trace shards: execution traces rendered in CWM's format, as their own documents.

`export_trace_shards` takes rendered trace strings (see `forager.traces.render`) from any
iterable and writes them as one committed `traces-NNNNNN` export beside the episode exports,
sharded and hashed the same way, with the highest trace id as its watermark;
`model.export.trace_source` streams the store's `traces` table into it incrementally
(`forager export traces --out DIR`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from model.export.columns import MESSAGES_TYPE, TRACE, DocumentTable, document_table, single_messages
from model.export.documents import TRACE_FORMAT
from model.export.layout import ExportDir
from model.export.manifest import MANIFEST_NAME, ExportCounts, ExportManifest, ShardInfo, Watermark
from model.export.options import DEFAULT_FORMATS, ShardFormat
from model.export.repos import repo_key
from model.export.shards import SplitShards
from model.export.splits import TRAIN, VALIDATION, split_of

TRACE_SCHEMA = pa.schema(
    [
        pa.field("format", pa.string()),
        pa.field("trace_id", pa.int64(), nullable=False),
        pa.field("repo", pa.string()),
        pa.field("split", pa.string(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("messages", MESSAGES_TYPE, nullable=False),
    ]
)


class TraceText(BaseModel):
    """One rendered trace; `repo` (a source spec) puts it on its repository's side of the split."""

    model_config = ConfigDict(extra="forbid")

    text: str
    trace_id: int | None = None
    repo: str | None = None


class TraceExportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    formats: list[ShardFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    validation_fraction: float = Field(default=0.02, ge=0, le=1)
    split_seed: int = 0
    shard_max_documents: int = Field(default=100_000, ge=1)
    shard_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    parquet_row_group_documents: int = Field(default=2048, ge=1)
    zstd_level: int = Field(default=1, ge=1, le=22)  # as ExportOptions.zstd_level


def export_trace_shards(
    traces: Iterable[str | TraceText], out_dir: Path, options: TraceExportOptions | None = None
) -> ExportManifest:
    """Write the traces as one committed export; an empty iterable commits nothing."""
    options = options or TraceExportOptions()
    out = ExportDir(out_dir)
    t0, created = time.monotonic(), datetime.now(UTC)
    with out.locked():
        out.remove_stale_staging()
        sequence = out.next_sequence("traces")
        staging = out.new_staging()
        shards = {
            split: SplitShards(
                staging,
                split,
                list(options.formats),
                TRACE_SCHEMA,
                {"forager.document_format": TRACE_FORMAT},
                options.shard_max_documents,
                options.shard_max_bytes,
                options.parquet_row_group_documents,
                options.zstd_level,
            )
            for split in (TRAIN, VALIDATION)
        }
        counts = ExportCounts()
        last_id = 0
        pending: dict[str, list[tuple[int, str | None, str]]] = {TRAIN: [], VALIDATION: []}
        try:
            for n, item in enumerate(traces):
                trace = item if isinstance(item, TraceText) else TraceText(text=item)
                trace_id = trace.trace_id if trace.trace_id is not None else n
                repo = repo_key(trace.repo) if trace.repo else None
                split = split_of(repo, options.validation_fraction, options.split_seed) if repo else TRAIN
                pending[split].append((trace_id, repo, trace.text))
                if len(pending[split]) >= _BATCH:
                    shards[split].write(_trace_table(pending[split], split))
                    pending[split] = []
                counts.considered += 1
                counts.exported += 1
                counts.messages += 1
                counts.by_split[split] = counts.by_split.get(split, 0) + 1
                last_id = max(last_id, trace_id)
            for split, rows in pending.items():
                if rows:
                    shards[split].write(_trace_table(rows, split))
            infos = [info for split in (TRAIN, VALIDATION) for info in shards[split].close()]
            if counts.exported == 0:
                shutil.rmtree(staging, ignore_errors=True)
                return _manifest(None, sequence, created, t0, options, counts, [], None)
            manifest = _manifest(
                f"traces-{sequence:06d}",
                sequence,
                created,
                t0,
                options,
                counts,
                infos,
                Watermark(last_id=last_id),
            )
            (staging / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2))
            out.commit(staging, "traces", sequence)
            return manifest
        except BaseException:
            for s in shards.values():
                s.abort()
            shutil.rmtree(staging, ignore_errors=True)
            raise


_BATCH = 256  # traces per table handed to the shards


def _trace_table(rows: list[tuple[int, str | None, str]], split: str) -> DocumentTable:
    fields: dict[str, list[Any]] = {
        "format": [TRACE_FORMAT] * len(rows),
        "trace_id": [r[0] for r in rows],
        "repo": [r[1] for r in rows],
        "split": [split] * len(rows),
    }
    return document_table(TRACE_SCHEMA, fields, single_messages([r[2] for r in rows], TRACE))


def _manifest(
    export_id: str | None,
    sequence: int,
    created: datetime,
    t0: float,
    options: TraceExportOptions,
    counts: ExportCounts,
    shards: list[ShardInfo],
    watermark: Watermark | None,
) -> ExportManifest:
    return ExportManifest(
        kind="traces",
        document_format=TRACE_FORMAT,
        export_id=export_id,
        sequence=sequence,
        created_at=created,
        duration_s=round(time.monotonic() - t0, 3),
        options=options.model_dump(mode="json"),
        watermark=watermark,
        counts=counts,
        shards=shards,
    )
