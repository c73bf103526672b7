"""What an export selects and how it writes it (pydantic: the boundary to CLI, API and workers)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.export.decontamination import SWE_BENCH_REPOS

ShardFormat = Literal["jsonl.zst", "parquet"]
ALL_FORMATS: tuple[ShardFormat, ...] = ("jsonl.zst", "parquet")
# Parquet only by default: what the dataset reads, and JSONL.zst of the same documents would
# compress every byte a second time (about half of a two-format export's CPU). Ask for
# jsonl.zst when a consumer wants lines.
DEFAULT_FORMATS: tuple[ShardFormat, ...] = ("parquet",)

# Options that change *which* documents an export holds or *what* they contain. An output
# folder's exports are increments of one dataset, so these must not change between them;
# the rest (shard sizes, batch size, compression level) may.
CONTENT_FIELDS = (
    "min_steps",
    "exit_statuses",
    "policy_kinds",
    "only_successful",
    "dedup",
    "dedup_threshold",
    "dedup_num_perm",
    "dedup_shingle_words",
    "decontaminate",
    "decontamination_repos",
    "decontamination_file",
    "decontaminate_forks",
    "validation_fraction",
    "split_seed",
    "observation_mask_fraction",
    "mask_seed",
    "include_system_prompt",
)


class ExportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Filters. Failed episodes are kept by default: CWM trains on them too.
    min_steps: int = Field(default=1, ge=0, description="episodes with fewer steps are dropped")
    exit_statuses: list[str] | None = Field(default=None, description="keep only these; None keeps all")
    policy_kinds: list[str] | None = Field(default=None, description="keep only these; None keeps all")
    only_successful: bool = Field(default=False, description="keep only episodes with reward > 0")

    # Hygiene.
    dedup: bool = Field(default=True, description="near-dedup within each repository (MinHash + LSH)")
    dedup_threshold: float = Field(
        default=0.5, gt=0, le=1, description="kept episodes stay below this Jaccard"
    )
    dedup_num_perm: int = Field(default=128, ge=16, le=1024)
    dedup_shingle_words: int = Field(default=3, ge=1, le=16)
    dedup_memory_mb: int = Field(
        default=1024, ge=0, description="shingle sets kept for exact verification; past it, MinHash estimates"
    )
    decontaminate: bool = True
    decontamination_repos: list[str] = Field(default_factory=lambda: list(SWE_BENCH_REPOS))
    decontamination_file: Path | None = Field(
        default=None, description="more repositories to exclude: one source spec or owner/name per line"
    )
    decontaminate_forks: bool = Field(
        default=True, description="also exclude any repository of the same name"
    )

    # Train/validation split by repository.
    validation_fraction: float = Field(default=0.02, ge=0, le=1)
    split_seed: int = 0

    # Document format.
    observation_mask_fraction: float = Field(
        default=0.5, ge=0, le=1, description="seeded share of observations with loss=false (CWM: 50%)"
    )
    mask_seed: int = 0
    include_system_prompt: bool = True

    # Output and streaming.
    formats: list[ShardFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    shard_max_documents: int = Field(default=20_000, ge=1)
    shard_max_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="UTF-8 bytes of message text per shard"
    )
    # Row groups are the dataset's units of reading; smaller ones also shorten the export's
    # tail (the last row group is compressed after everything else is done).
    parquet_row_group_documents: int = Field(default=256, ge=1)
    # Arrow's default level: the Parquet writer's compression is the largest single cost of
    # an export (on the 200k-step benchmark, 2 cores: ~0.85 CPU-s at level 1, ~1.1 at 3, for
    # shards ~10% smaller), and the export shares the machine with PostgreSQL.
    zstd_level: int = Field(default=1, ge=1, le=22)
    shard_lanes: int = Field(
        default=2,
        ge=1,
        le=16,
        description="shards of a split written at once, batch by batch, each compressed in its own thread",
    )
    batch_episodes: int = Field(default=500, ge=1, description="episodes per server-side cursor fetch")
    max_episodes: int | None = Field(
        default=None, ge=1, description="stop after this many new episodes (the rest waits for the next run)"
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="processes for a PostgreSQL export, each owning whole repositories (None: one per "
        "two CPUs, at most 8); SQLite exports run in one. Changes shard boundaries, never the documents",
    )

    @field_validator("exit_statuses", "policy_kinds")
    @classmethod
    def _sorted_unique(cls, v: list[str] | None) -> list[str] | None:
        return sorted(set(v)) if v is not None else None

    @field_validator("formats")
    @classmethod
    def _formats_unique(cls, v: list[ShardFormat]) -> list[ShardFormat]:
        return sorted(set(v))

    def content_fingerprint(self) -> str:
        """sha256 of the options that shape the dataset (see CONTENT_FIELDS)."""
        data = self.model_dump(mode="json", include=set(CONTENT_FIELDS))
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
