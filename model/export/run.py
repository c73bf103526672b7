"""`run_export`: the store's new finished episodes -> one committed, incremental export.

Plain function (no Celery, no CLI): the worker task and `forager export run` both call it.
"""

from __future__ import annotations

import gc
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from forager.config import Settings
from forager.store.db import session_scope
from model.errors import ExportError
from model.export.columns import StepColumns
from model.export.decontamination import RepoMatcher, read_repo_list
from model.export.dedup_store import DEDUP_FILE, load_signatures, write_signatures
from model.export.documents import DOCUMENT_FORMAT
from model.export.filters import EpisodeFilter
from model.export.layout import ExportDir
from model.export.manifest import MANIFEST_NAME, ExportCounts, ExportManifest, Watermark
from model.export.minhash import U32
from model.export.near_dedup import NearDuplicateIndex
from model.export.options import ExportOptions
from model.export.parallel import WorkerPool, WorkerProgress, merge_shards, worker_count
from model.export.partition import (
    EPISODE_SCHEMA,
    PartitionResult,
    PartitionWriter,
    PreparedBatch,
    prepare_batch,
)
from model.export.prefetch import Prefetcher
from model.export.progress import ExportProgress, ProgressSink
from model.export.prompts import PromptSource, TemplatePrompts
from model.export.repos import repo_key
from model.export.step_source import (
    SqlSteps,
    StepSource,
    StreamedSteps,
    export_snapshot,
    libpq_url,
    snapshot_connection,
)
from model.export.store_reader import EpisodeReader, EpisodeRecord, begin_snapshot

# The batch, and each episode with the reason it is dropped or None; then the survivors' steps
# as read, or prepared.
_Verdicts = list[tuple[EpisodeRecord, str | None]]
_Fetched = tuple[list[EpisodeRecord], _Verdicts, StepColumns]
_Batch = tuple[list[EpisodeRecord], _Verdicts, PreparedBatch]

__all__ = ["EPISODE_SCHEMA", "resolve_options", "run_export", "store_label"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while the export runs (and in its forked workers).

    An export holds hundreds of thousands of live strings, lists and dicts per batch, none in
    reference cycles (they are freed by reference counting); the collector walked them all,
    again and again, for about a tenth of the export's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve_options(options: ExportOptions) -> ExportOptions:
    """Fold the decontamination file into the list, so the manifest records what was used."""
    if options.decontamination_file is None:
        return options
    extra = read_repo_list(options.decontamination_file)
    merged = list(dict.fromkeys([*options.decontamination_repos, *extra]))
    return options.model_copy(update={"decontamination_repos": merged, "decontamination_file": None})


def store_label(url: str) -> str:
    u = make_url(url)
    return f"{u.get_backend_name()}:{u.database or ''}"


def run_export(
    settings: Settings,
    out_dir: Path,
    options: ExportOptions | None = None,
    progress: ProgressSink | None = None,
    prompts: PromptSource | None = None,
) -> ExportManifest:
    """Export the finished episodes past the folder's watermark as one new committed export.

    Returns the manifest; when no new finished episode exists nothing is committed and the
    manifest's `export_id` is None. Any exception leaves the folder as it was before the call.
    """
    options = resolve_options(options or ExportOptions())
    out = ExportDir(out_dir)
    with out.locked():
        out.remove_stale_staging()
        previous = out.last_manifest("episodes")
        fingerprint = options.content_fingerprint()
        if previous is not None and previous.options_fingerprint != fingerprint:
            last = out.committed("episodes")[-1][1] / MANIFEST_NAME
            raise ExportError(
                f"{out_dir} holds exports made with other filter or format options, and an output folder "
                f"is one dataset: export into a new folder, or use the options in {last}"
            )
        if previous is not None and previous.document_format != DOCUMENT_FORMAT:
            raise ExportError(
                f"{out_dir} holds {previous.document_format} documents and this export writes "
                f"{DOCUMENT_FORMAT}: an output folder is one dataset, export into a new folder"
            )
        sequence = out.next_sequence("episodes")
        staging = out.new_staging()
        try:
            manifest = _export(settings, out, staging, options, sequence, previous, progress, prompts)
            if manifest.counts.considered == 0:
                shutil.rmtree(staging, ignore_errors=True)
                return manifest.model_copy(update={"export_id": None})
            (staging / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2))
            out.commit(staging, "episodes", sequence)
            return manifest
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _export(
    settings: Settings,
    out: ExportDir,
    staging: Path,
    options: ExportOptions,
    sequence: int,
    previous: ExportManifest | None,
    progress: ProgressSink | None,
    prompts: PromptSource | None,
) -> ExportManifest:
    t0 = time.monotonic()
    created = datetime.now(UTC)
    since = previous.watermark if previous and previous.watermark else Watermark()
    prompts = prompts or TemplatePrompts()
    matcher = (
        RepoMatcher(options.decontamination_repos, options.decontaminate_forks)
        if options.decontaminate
        else None
    )
    keep = EpisodeFilter(options, matcher)
    dedup = (
        NearDuplicateIndex(
            options.dedup_threshold,
            options.dedup_num_perm,
            options.dedup_shingle_words,
            options.dedup_memory_mb,
        )
        if options.dedup
        else None
    )
    if dedup is not None:
        for path, m in out.manifests("episodes"):
            if m.dedup_file:
                load_signatures(path / m.dedup_file, dedup)
    tally = _Tally(progress, t0)
    with paused_gc(), session_scope(settings.db_url) as session:
        conn = begin_snapshot(session)
        reader = EpisodeReader(conn, since, options.batch_episodes, options.max_episodes)
        workers = worker_count(options, conn.dialect.name)
        if workers > 1:
            results = _export_parallel(
                conn, settings, reader, keep, tally, workers, staging, options, sequence, prompts, dedup
            )
            shards = merge_shards(staging, results)
            watermark, dedup_file = _close_out(reader, staging, [k for r in results for k in r.kept], dedup)
        else:
            closed: list[tuple[Watermark, str | None]] = []

            def while_shards_finish() -> None:
                # Everything is read and decided: this runs while the last shards compress.
                kept = dedup.kept if dedup is not None else []
                closed.append(_close_out(reader, staging, kept, dedup))

            with _step_source(conn, settings, since, options.max_episodes) as steps:
                result = _export_inline(
                    reader,
                    steps,
                    keep,
                    tally,
                    staging,
                    options,
                    sequence,
                    prompts,
                    dedup,
                    while_shards_finish,
                )
            results, shards = [result], result.shards
            watermark, dedup_file = closed[0]
    counts = ExportCounts(considered=tally.considered, steps_read=tally.steps_read)
    dropped = dict(tally.dropped)
    by_split: dict[str, int] = {}
    repos: set[str] = set()
    for r in results:
        counts.exported += r.exported
        counts.steps_exported += r.steps_exported
        counts.messages += r.messages
        for reason, n in r.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
        for split, n in r.by_split.items():
            by_split[split] = by_split.get(split, 0) + n
        repos |= r.repos
    counts.dropped = dict(sorted(dropped.items()))
    counts.repositories = len(repos)
    counts.by_split = {split: n for split, n in by_split.items() if n}
    return ExportManifest(
        kind="episodes",
        document_format=DOCUMENT_FORMAT,
        export_id=f"episodes-{sequence:06d}",
        sequence=sequence,
        created_at=created,
        duration_s=round(time.monotonic() - t0, 3),
        store=store_label(settings.db_url),
        options=options.model_dump(mode="json"),
        options_fingerprint=options.content_fingerprint(),
        previous_watermark=since,
        watermark=watermark,
        counts=counts,
        shards=shards,
        dedup_file=dedup_file,
    )


class _Tally:
    """Counts the coordinator sees (episodes read, filtered, steps read) and the progress sink."""

    def __init__(self, sink: ProgressSink | None, t0: float) -> None:
        self.sink = sink
        self.t0 = t0
        self.considered = 0
        self.steps_read = 0
        self.dropped: dict[str, int] = {}
        self.state = ExportProgress()

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def report(self, exported: int, dropped: dict[str, int], last_episode_id: int) -> None:
        if self.sink is None:
            return
        state = self.state
        state.considered, state.steps_read = self.considered, self.steps_read
        state.exported, state.last_episode_id = exported, max(state.last_episode_id, last_episode_id)
        state.elapsed_s = time.monotonic() - self.t0
        merged = dict(self.dropped)
        for reason, n in dropped.items():
            merged[reason] = merged.get(reason, 0) + n
        state.dropped = merged
        self.sink.update(state)


@contextmanager
def _step_source(
    conn: Connection, settings: Settings, since: Watermark, limit: int | None
) -> Iterator[StepSource]:
    """The steps of an export in one process: one ordered Arrow stream on PostgreSQL (on a
    second connection, in this transaction's snapshot), a query per batch on SQLite."""
    if conn.dialect.name != "postgresql":
        yield SqlSteps(conn)
        return
    snapshot = export_snapshot(conn)
    with snapshot_connection(libpq_url(settings.db_url), snapshot, "forager-export-steps") as adbc:
        stream = StreamedSteps(adbc, since, limit)
        try:
            yield stream
        finally:
            stream.close()


def _close_out(
    reader: EpisodeReader, staging: Path, kept: list[tuple[str, int, U32]], dedup: NearDuplicateIndex | None
) -> tuple[Watermark, str | None]:
    """The next watermark, and the kept episodes' signatures written beside the shards."""
    watermark = reader.next_watermark()
    if dedup is None or not kept:
        return watermark, None
    write_signatures(staging / DEDUP_FILE, kept, dedup.num_perm)
    return watermark, DEDUP_FILE


def _export_inline(
    reader: EpisodeReader,
    source: StepSource,
    keep: EpisodeFilter,
    tally: _Tally,
    staging: Path,
    options: ExportOptions,
    sequence: int,
    prompts: PromptSource,
    dedup: NearDuplicateIndex | None,
    while_shards_finish: Callable[[], None],
) -> PartitionResult:
    """One partition in this process, as a pipeline of threads: the store reads (Arrow, and
    the episode cursor), then the masks and action sketches (numpy), a batch ahead of the
    documents in this thread and the shards' compression threads. Each stage mostly runs
    outside the GIL; one thread for the first two kept the documents waiting."""

    def fetch() -> Iterator[_Fetched]:
        for batch in _head_first(reader.batches()):
            verdicts = [(record, keep.reason(record)) for record in batch]
            survivors = [record.id for record, reason in verdicts if reason is None]
            yield batch, verdicts, source.steps(survivors, batch[-1].id)

    def prepare(fetched: Iterator[_Fetched]) -> Iterator[_Batch]:
        for batch, verdicts, steps in fetched:
            survivors = [record for record, reason in verdicts if reason is None]
            yield batch, verdicts, prepare_batch(survivors, steps, options, dedup)

    writer = PartitionWriter(staging, options, sequence, prompts, dedup)
    try:
        with Prefetcher(fetch()) as fetched, Prefetcher(prepare(iter(fetched))) as batches:
            for batch, verdicts, prepared in batches:
                tally.considered += len(batch)
                tally.steps_read += prepared.steps_read
                for _, reason in verdicts:
                    if reason is not None:
                        tally.drop(reason)
                writer.add(prepared)
                tally.report(writer.result.exported, writer.result.dropped, batch[-1].id)
        return writer.close(while_shards_finish)
    except BaseException:
        writer.abort()
        raise


def _head_first(batches: Iterator[list[EpisodeRecord]], head: int = 32) -> Iterator[list[EpisodeRecord]]:
    """The first batch's first `head` episodes on their own: the stages after the reads start
    on them while the rest of the first batch is read (the pipeline fills sooner)."""
    for n, batch in enumerate(batches):
        if n == 0 and len(batch) > 2 * head:
            yield batch[:head]
            yield batch[head:]
        else:
            yield batch


def _export_parallel(
    conn: Connection,
    settings: Settings,
    reader: EpisodeReader,
    keep: EpisodeFilter,
    tally: _Tally,
    workers: int,
    staging: Path,
    options: ExportOptions,
    sequence: int,
    prompts: PromptSource,
    dedup: NearDuplicateIndex | None,
) -> list[PartitionResult]:
    """Worker processes in this transaction's snapshot (see model.export.parallel)."""
    snapshot = export_snapshot(conn)
    conninfo = libpq_url(settings.db_url)
    exported = 0
    worker_dropped: dict[str, int] = {}

    def on_progress(p: WorkerProgress) -> None:
        nonlocal exported
        tally.steps_read += p.steps_read
        exported += p.exported
        tally.report(exported, worker_dropped, p.last_episode_id)

    pool = WorkerPool(workers, conninfo, snapshot, staging, options, sequence, prompts, dedup)
    try:
        for batch in reader.batches():
            tally.considered += len(batch)
            parts: list[list[EpisodeRecord]] = [[] for _ in range(workers)]
            for record in batch:
                reason = keep.reason(record)
                if reason is not None:
                    tally.drop(reason)
                else:
                    parts[pool.assign(repo_key(record.source))].append(record)
            for k, part in enumerate(parts):
                if part:
                    pool.send(k, part, on_progress)
        return pool.finish(on_progress)
    except BaseException:
        pool.terminate()
        raise
