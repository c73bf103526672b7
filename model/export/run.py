"""`run_export`: the store's new finished episodes -> one committed, incremental export.

Plain function (no Celery, no CLI): the worker task and `forager export run` both call it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy.engine import make_url

from forager.config import Settings
from forager.store.db import session_scope
from model.errors import ExportError
from model.export.decontamination import RepoMatcher, read_repo_list
from model.export.dedup_store import DEDUP_FILE, load_signatures, write_signatures
from model.export.documents import DOCUMENT_FORMAT, build_messages, encode_document, observation_masks
from model.export.filters import EpisodeFilter
from model.export.layout import ExportDir
from model.export.manifest import MANIFEST_NAME, ExportCounts, ExportManifest, ShardInfo, Watermark
from model.export.near_dedup import NearDuplicateIndex
from model.export.options import ExportOptions
from model.export.prefetch import Prefetcher
from model.export.progress import ExportProgress, ProgressSink
from model.export.prompts import PromptSource, TemplatePrompts
from model.export.repos import repo_key
from model.export.shards import MESSAGE_TYPE, SplitShards
from model.export.splits import TRAIN, VALIDATION, split_of
from model.export.store_reader import EpisodeReader, EpisodeRecord, begin_snapshot

EPISODE_SCHEMA = pa.schema(
    [
        pa.field("format", pa.string()),
        pa.field("episode_id", pa.int64(), nullable=False),
        pa.field("repo", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("environment_id", pa.int64(), nullable=False),
        pa.field("task_id", pa.int64()),
        pa.field("task_kind", pa.string()),
        pa.field("task_family", pa.string()),
        pa.field("policy_kind", pa.string()),
        pa.field("policy_model", pa.string()),
        pa.field("exit_status", pa.string()),
        pa.field("reward", pa.float64()),
        pa.field("steps", pa.int32(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("messages", pa.list_(pa.field("item", MESSAGE_TYPE, nullable=False)), nullable=False),
    ]
)

# (the batch, each episode with the reason it is dropped or None, steps read for the batch)
_Batch = tuple[list[EpisodeRecord], list[tuple[EpisodeRecord, str | None]], int]


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
    builder = _DocumentWriter(staging, options, sequence, prompts or TemplatePrompts())
    if builder.dedup is not None:
        for path, m in out.manifests("episodes"):
            if m.dedup_file:
                load_signatures(path / m.dedup_file, builder.dedup)
    state = ExportProgress()
    try:
        with session_scope(settings.db_url) as session:
            reader = EpisodeReader(
                begin_snapshot(session), since, options.batch_episodes, options.max_episodes
            )
            with Prefetcher(_read(reader, builder.filter, builder.dedup, options)) as batches:
                for batch, verdicts, steps_read in batches:
                    builder.counts.considered += len(batch)
                    builder.counts.steps_read += steps_read
                    for record, reason in verdicts:
                        builder.add(record, reason)
                    if progress is not None:
                        c = builder.counts
                        state.considered, state.exported, state.steps_read = (
                            c.considered,
                            c.exported,
                            c.steps_read,
                        )
                        state.last_episode_id, state.elapsed_s = batch[-1].id, time.monotonic() - t0
                        state.dropped = dict(builder.dropped)
                        progress.update(state)
            watermark = reader.next_watermark()
        shards = builder.close()
    except BaseException:
        builder.abort()
        raise
    dedup_file = None
    if builder.dedup is not None and builder.dedup.kept:
        write_signatures(staging / DEDUP_FILE, builder.dedup)
        dedup_file = DEDUP_FILE
    counts = builder.counts
    counts.dropped = dict(sorted(builder.dropped.items()))
    counts.repositories = len(builder.repos)
    counts.by_split = {split: n for split, n in builder.by_split.items() if n}
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


def _read(
    reader: EpisodeReader, keep: EpisodeFilter, dedup: NearDuplicateIndex | None, options: ExportOptions
) -> Iterator[_Batch]:
    """Runs in the prefetch thread: episodes, the filters that need no steps, the steps of the
    survivors (one query per batch), then the numpy work per batch (masks, MinHash), which
    releases the GIL and so overlaps with the formatting of the previous batch."""
    for batch in reader.batches():
        verdicts = [(record, keep.reason(record)) for record in batch]
        survivors = [record for record, reason in verdicts if reason is None]
        steps = reader.attach_steps(survivors)
        masks = observation_masks(
            [r.id for r in survivors],
            [len(r.observations) for r in survivors],
            options.observation_mask_fraction,
            options.mask_seed,
        )
        for record, mask in zip(survivors, masks, strict=True):
            record.observation_loss = mask
        if dedup is not None:
            for record, (shingles, sig) in zip(
                survivors, dedup.sketch(["\n".join(r.actions) for r in survivors]), strict=True
            ):
                record.shingles, record.signature = shingles, sig
        yield batch, verdicts, steps


class _DocumentWriter:
    """Hygiene and formatting of one export: filters, dedup, split, document, shards."""

    def __init__(self, staging: Path, options: ExportOptions, sequence: int, prompts: PromptSource) -> None:
        self.options = options
        self.prompts = prompts
        self.system = prompts.system() if options.include_system_prompt else None
        matcher = (
            RepoMatcher(options.decontamination_repos, options.decontaminate_forks)
            if options.decontaminate
            else None
        )
        self.filter = EpisodeFilter(options, matcher)
        self.dedup = (
            NearDuplicateIndex(
                options.dedup_threshold,
                options.dedup_num_perm,
                options.dedup_shingle_words,
                options.dedup_memory_mb,
            )
            if options.dedup
            else None
        )
        metadata = {"forager.document_format": DOCUMENT_FORMAT, "forager.export_sequence": str(sequence)}
        self.shards = {
            split: SplitShards(
                staging,
                split,
                list(options.formats),
                EPISODE_SCHEMA,
                metadata,
                options.shard_max_documents,
                options.shard_max_bytes,
                options.parquet_row_group_documents,
                options.zstd_level,
            )
            for split in (TRAIN, VALIDATION)
        }
        self.counts = ExportCounts()
        self.dropped: dict[str, int] = {}
        self.by_split = {TRAIN: 0, VALIDATION: 0}
        self.repos: set[str] = set()

    def add(self, record: EpisodeRecord, reason: str | None) -> None:
        options = self.options
        if reason is None and self.filter.too_short(record):
            reason = "min_steps"
        repo = repo_key(record.source)
        if reason is None and self.dedup is not None and not self._kept_by_dedup(repo, record):
            reason = "near_duplicate"
        if reason is not None:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1
            return
        split = split_of(repo, options.validation_fraction, options.split_seed)
        n = len(record.actions)
        messages = build_messages(
            self.system,
            self.prompts.task(record),
            record.actions,
            record.observations,
            record.observation_loss,
        )
        doc = {
            "format": DOCUMENT_FORMAT,
            "episode_id": record.id,
            "repo": repo,
            "source": record.source,
            "split": split,
            "environment_id": record.environment_id,
            "task_id": record.task_id,
            "task_kind": record.task_kind,
            "task_family": record.task_family,
            "policy_kind": record.policy_kind,
            "policy_model": record.policy_model,
            "exit_status": record.exit_status,
            "reward": record.reward,
            "steps": n,
        }
        line, doc["content_sha256"] = encode_document(doc, messages)
        doc["messages"] = messages
        self.shards[split].write(doc, line, n)
        self.counts.exported += 1
        self.counts.steps_exported += n
        self.counts.messages += len(messages)
        self.by_split[split] += 1
        self.repos.add(repo)

    def _kept_by_dedup(self, repo: str, record: EpisodeRecord) -> bool:
        assert self.dedup is not None and record.shingles is not None and record.signature is not None
        return self.dedup.check_and_add(repo, record.id, record.shingles, record.signature).kept

    def close(self) -> list[ShardInfo]:
        return [info for split in (TRAIN, VALIDATION) for info in self.shards[split].close()]

    def abort(self) -> None:
        for shards in self.shards.values():
            shards.abort()
