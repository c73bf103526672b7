"""One partition of an episode export: steps, hygiene, documents and shards.

An export is one partition run in-process (SQLite, or one worker) or one partition per worker
process (PostgreSQL, see model.export.parallel), each owning whole repositories. Everything
here is per repository or per episode: near-dedup compares episodes of one repository, the
split is a function of the repository, masks a function of the episode. So partitions by
repository write exactly the documents one partition over the whole store writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from model.export.documents import DOCUMENT_FORMAT, encode_document, observation_masks
from model.export.manifest import ShardInfo
from model.export.minhash import U32
from model.export.near_dedup import NearDuplicateIndex
from model.export.options import ExportOptions
from model.export.prompts import PromptSource
from model.export.repos import repo_key
from model.export.shards import MESSAGE_TYPE, DocumentParts, SplitShards
from model.export.splits import TRAIN, VALIDATION, split_of
from model.export.store_reader import EpisodeRecord, attach_steps

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

StepRows = Callable[[list[int]], Iterable[tuple[int, str, str]]]  # episode ids -> step rows

# Roles of the messages after the task prompt, for an episode of n steps (shared, read-only).
_STEP_ROLES: dict[int, list[str]] = {}


def _step_roles(n: int) -> list[str]:
    roles = _STEP_ROLES.get(n)
    if roles is None:
        roles = ["assistant", "observation"] * n
        if n < 4096:
            _STEP_ROLES[n] = roles
    return roles


def prepare_batch(
    records: list[EpisodeRecord], steps: StepRows, options: ExportOptions, dedup: NearDuplicateIndex | None
) -> int:
    """Steps of the episodes (one query), observation masks and, with near-dedup on, action
    shingles and signatures, all per batch (numpy releases the GIL for the bulk of it).
    Returns the steps read."""
    if not records:
        return 0
    n = attach_steps(records, steps([r.id for r in records]))
    masks = observation_masks(
        [r.id for r in records],
        [len(r.observations) for r in records],
        options.observation_mask_fraction,
        options.mask_seed,
    )
    for record, mask in zip(records, masks, strict=True):
        record.observation_loss = mask
    if dedup is not None:
        sketches = dedup.sketch(["\n".join(r.actions) for r in records])
        for record, (shingles, sig, keys) in zip(records, sketches, strict=True):
            record.shingles, record.signature, record.band_keys = shingles, sig, keys
    return n


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
            )
            for split in (TRAIN, VALIDATION)
        }
        self.result = PartitionResult()

    def add(self, record: EpisodeRecord) -> None:
        options, result = self.options, self.result
        n = len(record.actions)
        repo = repo_key(record.source)
        reason = None
        if n < options.min_steps:
            reason = "min_steps"
        elif self.dedup is not None:
            assert record.shingles is not None and record.signature is not None
            verdict = self.dedup.check_and_add(
                repo, record.id, record.shingles, record.signature, record.band_keys
            )
            if not verdict.kept:
                reason = "near_duplicate"
        if reason is not None:
            result.dropped[reason] = result.dropped.get(reason, 0) + 1
            return
        split = split_of(repo, options.validation_fraction, options.split_seed)
        # The messages as parallel lists: system prompt, task prompt, then action/observation
        # pairs. The system prompt is the same in every episode: nothing to learn from it.
        head_roles, head_contents, head_losses = ["user"], [self.prompts.task(record)], [True]
        if self.system is not None:
            head_roles, head_contents, head_losses = (
                ["system", "user"],
                [self.system, head_contents[0]],
                [False, True],
            )
        contents: list[str] = [""] * (2 * n)
        contents[0::2] = record.actions
        contents[1::2] = record.observations
        losses = [True] * (2 * n)
        losses[1::2] = record.observation_loss
        roles = head_roles + _step_roles(n)
        contents = head_contents + contents
        losses = head_losses + losses
        messages: list[dict[str, Any]] = [
            {"role": r, "content": c, "loss": x} for r, c, x in zip(roles, contents, losses, strict=True)
        ]
        fields = {
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
        line, fields["content_sha256"] = encode_document(fields, messages)
        # (contents read back: encode_document may have replaced text that is not Unicode)
        self.shards[split].write(
            DocumentParts(line, fields, roles, [m["content"] for m in messages], losses, n)
        )
        result.exported += 1
        result.steps_exported += n
        result.messages += len(messages)
        result.by_split[split] += 1
        result.repos.add(repo)
        # Episodes are not needed past this point: free their text early (a batch is held
        # until its last episode is written).
        record.actions, record.observations, record.shingles, record.band_keys = [], [], None, None

    def close(self) -> PartitionResult:
        self.result.shards = [info for split in (TRAIN, VALIDATION) for info in self.shards[split].close()]
        if self.dedup is not None:
            self.result.kept = self.dedup.kept
        return self.result

    def abort(self) -> None:
        for shards in self.shards.values():
            shards.abort()
