"""The manifest written beside every export: what it holds and how to verify it."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from model.errors import ExportError

MANIFEST_FORMAT = "forager.export/1"
MANIFEST_NAME = "manifest.json"
Split = Literal["train", "validation"]
ExportKind = Literal["episodes", "traces"]


@lru_cache(maxsize=1)
def forager_version() -> str:
    try:
        return version("forager")
    except PackageNotFoundError:
        return "0+unknown"


class ShardInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="relative to the export's folder")
    format: Literal["jsonl.zst", "parquet"]
    split: str
    index: int
    documents: int
    messages: int
    steps: int
    bytes: int
    uncompressed_bytes: int = Field(description="UTF-8 bytes of the message texts the shard holds")
    sha256: str


class Watermark(BaseModel):
    """Rows up to id `last_id` were looked at, except `pending` ones (episodes still running)."""

    model_config = ConfigDict(extra="forbid")

    last_id: int = 0
    pending: list[int] = Field(default_factory=list)


class ExportCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    considered: int = Field(default=0, description="finished episodes read past the watermark")
    exported: int = 0
    by_split: dict[str, int] = Field(default_factory=dict)
    repositories: int = 0
    steps_read: int = 0
    steps_exported: int = 0
    messages: int = 0
    dropped: dict[str, int] = Field(default_factory=dict, description="reason -> episodes")


class ExportManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["forager.export/1"] = "forager.export/1"
    kind: ExportKind = "episodes"
    document_format: str
    export_id: str | None = Field(description="folder under exports/; None when nothing was committed")
    sequence: int
    created_at: datetime
    duration_s: float
    forager_version: str = Field(default_factory=forager_version)
    store: str | None = Field(default=None, description="dialect and database (no credentials)")
    options: dict[str, Any] = Field(default_factory=dict)
    options_fingerprint: str | None = None
    previous_watermark: Watermark | None = None
    watermark: Watermark | None = None
    counts: ExportCounts = Field(default_factory=ExportCounts)
    shards: list[ShardInfo] = Field(default_factory=list)
    dedup_file: str | None = Field(default=None, description="MinHash signatures of the kept episodes")

    @property
    def committed(self) -> bool:
        return self.export_id is not None

    def shards_of(self, split: str, fmt: str) -> list[ShardInfo]:
        return [s for s in self.shards if s.split == split and s.format == fmt]


def read_manifest(path: Path) -> ExportManifest:
    """A manifest file, or the manifest of an export folder."""
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        return ExportManifest.model_validate_json(path.read_text())
    except OSError as exc:
        raise ExportError(f"cannot read the manifest {path}: {exc}") from exc
    except ValueError as exc:
        raise ExportError(f"{path} is not a Forager export manifest: {exc}") from exc
