"""One partition of an episode export: steps, hygiene, documents and shards.

An export is one partition run in-process (SQLite, or one worker) or one partition per worker
process (PostgreSQL, see model.export.parallel), each owning whole repositories. Everything
here is per repository or per episode: near-dedup compares episodes of one repository, the
split is a function of the repository, masks a function of the episode. So partitions by
repository write exactly the documents one partition over the whole store writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from model.export.columns import MESSAGES_TYPE, StepColumns, document_table, episode_messages
from model.export.documents import DOCUMENT_FORMAT, observation_keep
from model.export.manifest import ShardInfo
from model.export.minhash import U32, ShingleBatch
from model.export.near_dedup import NearDuplicateIndex, Sketch
from model.export.options import ExportOptions
from model.export.prompts import PromptSource
from model.export.repos import repo_key
from model.export.shards import SplitShards
from model.export.splits import TRAIN, VALIDATION, split_of
from model.export.store_reader import EpisodeRecord

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
        pa.field("messages", MESSAGES_TYPE, nullable=False),
    ]
)


@dataclass(slots=True)
class PreparedBatch:
    """Episodes that passed the filters needing no steps (id order), with their steps as
    columns, per step the observation's loss flag, and their action sketches (near-dedup)."""

    records: list[EpisodeRecord]
    steps: StepColumns
    counts: npt.NDArray[np.int64]
    observation_keep: npt.NDArray[np.bool_]
    sketches: list[Sketch] | None

    @property
    def steps_read(self) -> int:
        return len(self.steps)


def prepare_batch(
    records: list[EpisodeRecord],
    steps: StepColumns,
    options: ExportOptions,
    dedup: NearDuplicateIndex | None,
) -> PreparedBatch:
    """The episodes' own steps (`steps` may hold others', of episodes the filters dropped),
    observation masks and, with near-dedup on, action shingles and signatures, all per batch
    (most of numpy's work releases the GIL)."""
    ids = [r.id for r in records]
    steps, counts = steps.of_episodes(ids)
    keep = observation_keep(ids, counts, options.observation_mask_fraction, options.mask_seed)
    sketches = None
    if dedup is not None:
        # Each episode's actions are one text, its steps ending words as newlines would.
        data, step_offsets = steps.action_bytes()
        episode_rows = np.concatenate(([0], np.cumsum(counts))).astype(np.intp)
        bounds = step_offsets[episode_rows].astype(np.intp)
        shingles = ShingleBatch(data, bounds, dedup.shingle_words, breaks=step_offsets[1:-1].astype(np.intp))
        sketches = dedup.sketch_batch(shingles)
    return PreparedBatch(records, steps, counts, keep, sketches)


@dataclass
class PartitionResult:
    """What a partition wrote: counts, its closed shards and the signatures of kept episodes."""

    exported: int = 0
    steps_exported: int = 0
    messages: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    by_split: dict[str, int] = field(default_factory=lambda: {TRAIN: 0, VALIDATION: 0})
    repos: set[str] = field(default_factory=set)
    shards: list[ShardInfo] = field(default_factory=list)
    kept: list[tuple[str, int, U32]] = field(default_factory=list)


class PartitionWriter:
    """Hygiene that needs the steps (min_steps, near-dedup), the split, the document, shards.

    Takes episodes that passed the filters needing no steps (model.export.filters), in id
    order per repository, with `prepare_batch` done.
    """

    def __init__(
        self,
        staging: Path,
        options: ExportOptions,
        sequence: int,
        prompts: PromptSource,
        dedup: NearDuplicateIndex | None,
        name_prefix: str = "",
    ) -> None:
        self.options = options
        self.prompts = prompts
        self.system = prompts.system() if options.include_system_prompt else None
        self.dedup = dedup
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
                name_prefix=name_prefix,
                lanes=options.shard_lanes,
            )
            for split in (TRAIN, VALIDATION)
        }
        self.result = PartitionResult()

    def add(self, batch: PreparedBatch) -> None:
        """min_steps and near-dedup per episode (in id order), then the kept episodes'
        documents, assembled per split."""
        options, result = self.options, self.result
        starts = np.concatenate(([0], np.cumsum(batch.counts)[:-1])).astype(np.int64)
        kept: dict[str, list[int]] = {TRAIN: [], VALIDATION: []}
        repos: list[str] = []
        for i, record in enumerate(batch.records):
            repo = repo_key(record.source)
            repos.append(repo)
            reason = None
            if int(batch.counts[i]) < options.min_steps:
                reason = "min_steps"
            elif self.dedup is not None:
                assert batch.sketches is not None
                shingles, sig, keys = batch.sketches[i]
                if not self.dedup.check_and_add(repo, record.id, shingles, sig, keys).kept:
                    reason = "near_duplicate"
            if reason is not None:
                result.dropped[reason] = result.dropped.get(reason, 0) + 1
                continue
            kept[split_of(repo, options.validation_fraction, options.split_seed)].append(i)
        for split, chosen in kept.items():
            if chosen:
                # One take per split: its documents hold no more text than the pool they are
                # taken from (see episode_messages), so 32-bit offsets bound the pool alone.
                self._write(split, batch, chosen, starts, repos)

    def _write(
        self,
        split: str,
        batch: PreparedBatch,
        chosen: list[int],
        starts: npt.NDArray[np.int64],
        repos: list[str],
    ) -> None:
        records = [batch.records[i] for i in chosen]
        index = np.asarray(chosen, dtype=np.int64)
        counts = batch.counts[index]
        messages = episode_messages(
            self.system,
            [self.prompts.task(r) for r in records],
            batch.steps,
            starts[index],
            counts,
            batch.observation_keep,
        )
        fields: dict[str, list[Any]] = {
            "format": [DOCUMENT_FORMAT] * len(records),
            "episode_id": [r.id for r in records],
            "repo": [repos[i] for i in chosen],
            "source": [r.source for r in records],
            "split": [split] * len(records),
            "environment_id": [r.environment_id for r in records],
            "task_id": [r.task_id for r in records],
            "task_kind": [r.task_kind for r in records],
            "task_family": [r.task_family for r in records],
            "policy_kind": [r.policy_kind for r in records],
            "policy_model": [r.policy_model for r in records],
            "exit_status": [r.exit_status for r in records],
            "reward": [r.reward for r in records],
            "steps": counts.tolist(),
        }
        docs = document_table(EPISODE_SCHEMA, fields, messages, counts)
        self.shards[split].write(docs)
        result = self.result
        result.exported += len(records)
        result.steps_exported += int(counts.sum())
        result.messages += int(docs.messages.sum())
        result.by_split[split] += len(records)
        result.repos.update(fields["repo"])

    def close(self, while_shards_finish: Callable[[], None] | None = None) -> PartitionResult:
        """Finish the shards (in their threads) and describe them; `while_shards_finish` runs
        in the meantime."""
        for shards in self.shards.values():
            shards.finish()
        if while_shards_finish is not None:
            while_shards_finish()
        self.result.shards = [info for split in (TRAIN, VALIDATION) for info in self.shards[split].close()]
        if self.dedup is not None:
            self.result.kept = self.dedup.kept
        return self.result

    def abort(self) -> None:
        for shards in self.shards.values():
            shards.abort()
