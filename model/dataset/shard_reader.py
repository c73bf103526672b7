"""Finding an export's shards and reading their documents, in units a consumer can own.

A unit is a Parquet row group or a whole JSONL shard: the smallest piece read on its own.
Document counts come from the manifests and Parquet footers, so a position in the stream can
be found without reading the documents before it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from model.errors import DatasetError
from model.export.layout import ExportDir
from model.export.manifest import MANIFEST_NAME, ExportKind, read_manifest

ShardFormat = Literal["jsonl.zst", "parquet"]
MessageTuple = tuple[str, str, bool]  # role, content, loss


@dataclass(frozen=True)
class ShardRef:
    path: Path
    format: ShardFormat
    documents: int


@dataclass(frozen=True)
class Unit:
    shard: ShardRef
    row_group: int | None  # None: the whole (JSONL) shard
    documents: int


def list_shards(
    root: Path, split: str = "train", fmt: ShardFormat = "parquet", kind: ExportKind = "episodes"
) -> list[ShardRef]:
    """The shards of a split, oldest export first. `root` is an export folder (with `exports/`),
    one committed export, or a manifest file."""
    root = Path(root)
    if root.is_file() or (root / MANIFEST_NAME).is_file():
        folder = root.parent if root.is_file() else root
        manifests = [(folder, read_manifest(root))]
    else:
        manifests = ExportDir(root).manifests(kind)
        if not manifests:
            raise DatasetError(f"no committed {kind} export under {root}")
    refs: list[ShardRef] = []
    for folder, manifest in manifests:
        for shard in sorted(manifest.shards_of(split, fmt), key=lambda s: s.index):
            refs.append(ShardRef(folder / shard.path, shard.format, shard.documents))
    return refs


def units_of(shards: Sequence[ShardRef]) -> list[Unit]:
    units: list[Unit] = []
    for shard in shards:
        if shard.format == "parquet":
            try:
                meta = pq.ParquetFile(shard.path).metadata
            except (OSError, pa.ArrowException) as exc:
                raise DatasetError(f"cannot read {shard.path}: {exc}") from exc
            units.extend(Unit(shard, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups))
        else:
            units.append(Unit(shard, None, shard.documents))
    return units


def read_unit(unit: Unit, rows: Sequence[int] | None = None) -> list[list[MessageTuple]]:
    """The messages of the unit's documents (only `rows`, unit-local indices, when given)."""
    try:
        if unit.row_group is not None:
            return _parquet_rows(unit, rows)
        return _jsonl_rows(unit, rows)
    except (OSError, pa.ArrowException, zstandard.ZstdError, orjson.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read {unit.shard.path}: {exc}") from exc


def _parquet_rows(unit: Unit, rows: Sequence[int] | None) -> list[list[MessageTuple]]:
    assert unit.row_group is not None
    table = pq.ParquetFile(unit.shard.path).read_row_group(unit.row_group, columns=["messages"])
    column = table.column("messages").combine_chunks()
    if rows is not None:
        column = column.take(pa.array(rows, type=pa.int64()))
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    offsets = column.offsets.to_pylist()
    values = column.flatten()  # drop the list level: one struct per message
    roles = values.field("role").to_pylist()
    contents = values.field("content").to_pylist()
    losses = values.field("loss").to_pylist()
    base = offsets[0]
    messages = list(zip(roles, contents, losses, strict=True))
    return [messages[a - base : b - base] for a, b in itertools.pairwise(offsets)]


def _jsonl_rows(unit: Unit, rows: Sequence[int] | None) -> list[list[MessageTuple]]:
    wanted = set(rows) if rows is not None else None
    out: list[list[MessageTuple]] = []
    for i, line in enumerate(_lines(unit.shard.path)):
        if wanted is not None and i not in wanted:
            continue
        doc = orjson.loads(line)
        out.append([(m["role"], m["content"], bool(m["loss"])) for m in doc["messages"]])
    return out


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as raw:
        yield from io.BufferedReader(raw, buffer_size=1 << 20)
