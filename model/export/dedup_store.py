"""The MinHash signatures of kept episodes, stored beside each export for the next one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from model.errors import ExportError
from model.export.minhash import U32
from model.export.near_dedup import NearDuplicateIndex

DEDUP_FILE = "dedup.parquet"


def write_signatures(path: Path, kept: Sequence[tuple[str, int, U32]], num_perm: int) -> None:
    """The (repository, episode id, signature) of kept episodes, sorted by repository and id."""
    kept = sorted(kept, key=lambda k: (k[0], k[1]))  # by repo: row-group stats can prune
    width = num_perm * 4
    sigs = np.stack([k[2] for k in kept]).astype("<u4") if kept else np.zeros((0, num_perm), "<u4")
    table = pa.table(
        {
            "repo": pa.array([k[0] for k in kept], type=pa.string()),
            "episode_id": pa.array([k[1] for k in kept], type=pa.int64()),
            "signature": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(width), len(kept), [None, pa.py_buffer(sigs.tobytes())]
            ),
        }
    )
    # Uncompressed: minima of hashes are as good as random bytes to a compressor.
    pq.write_table(table, path, compression={"repo": "zstd", "episode_id": "zstd", "signature": "none"})


def load_signatures(path: Path, index: NearDuplicateIndex) -> int:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ExportError(f"cannot read the dedup signatures {path}: {exc}") from exc
    repos = table.column("repo").to_pylist()
    ids = table.column("episode_id").to_pylist()
    for repo, episode_id, raw in zip(repos, ids, table.column("signature").to_pylist(), strict=True):
        sig = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
        if sig.size != index.num_perm:
            raise ExportError(f"{path}: signatures of {sig.size} values, expected {index.num_perm}")
        index.add_prior(repo, episode_id, sig)
    return len(ids)
