"""Candidate indexes for near-duplicate search: LSH banding over MinHash signatures.

Two implementations of one protocol. `BandedLSH` keys one dict with a hash per band
(tens of microseconds per episode, query and insert). `DatasketchLSH` is datasketch's
`MinHashLSH` with the same bands and rows: the reference the tests compare `BandedLSH` against,
about six times slower per episode (a byte swap and storage objects per band), which matters
when the export must keep pace with reading the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from model.export.minhash import U32, fmix64

# Odd 64-bit multipliers, one per row of a band and one for the band's index.
_MULTS = fmix64(np.arange(1, 1026, dtype=np.uint64)) | np.uint64(1)

if TYPE_CHECKING:
    from datasketch import MinHashLSH


class CandidateIndex(Protocol):
    """`keys`, when given, are `band_keys` of the signature (computed per batch); an index may
    ignore them."""

    def insert(self, key: int, sig: U32, keys: list[int] | None = None) -> None: ...

    def query(self, sig: U32, keys: list[int] | None = None) -> set[int]: ...


def band_keys(sigs: U32, bands: int, rows: int) -> list[list[int]]:
    """Per signature (a row of `sigs`), one key per band: a 64-bit hash of the band's index
    and values.

    One numpy pass for a whole batch, and Python ints, whose hash is their value: the dict
    and set operations per episode cost a third of what 16-byte keys did. Two bands that
    collide only make a candidate, which is verified before anything is dropped.
    """
    n = sigs.shape[0]
    values = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = np.arange(1, bands + 1, dtype=np.uint64) * _MULTS[rows]  # the band's index
        for r in range(rows):
            h = h + values[:, :, r] * _MULTS[r]
        keys: list[list[int]] = fmix64(h).view(np.int64).tolist()
    return keys


def lsh_params(threshold: float, num_perm: int, recall: float = 0.995) -> tuple[int, int]:
    """Bands and rows: as many rows per band as keep P(candidate | J = threshold) >= recall.

    More rows mean fewer false candidates; the recall bound keeps pairs at the threshold from
    slipping through unverified (which would break the all-pairs-below-threshold promise).
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm // 2 + 1):
        bands = num_perm // rows
        if bands < 2:
            break
        if 1 - (1 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


class BandedLSH:
    """One dict for all bands, keyed by a hash of the band's index and values.

    A query is one intersection of the episode's band keys with the dict's keys, done in C
    (most episodes share no bucket with any other); an insert is one `dict.update` unless
    some bucket holds keys already. Per episode, a few microseconds rather than the ~100 of a
    Python loop over the bands.
    """

    def __init__(self, num_perm: int, bands: int, rows: int) -> None:
        if bands * rows > num_perm:
            raise ValueError(f"{bands} bands x {rows} rows exceed {num_perm} hash values")
        self.bands, self.rows = bands, rows
        # A bucket is the one key that fell into it, or a list once a second one does: most
        # buckets never see a second key, and a list per bucket was the main cost.
        self._table: dict[int, int | list[int]] = {}

    def _keys(self, sig: U32, keys: list[int] | None) -> list[int]:
        if keys is not None:
            return keys
        return band_keys(sig.reshape(1, -1), self.bands, self.rows)[0]

    def insert(self, key: int, sig: U32, keys: list[int] | None = None) -> None:
        keys = self._keys(sig, keys)
        table = self._table
        if not table.keys() & keys:
            table.update(dict.fromkeys(keys, key))
            return
        for k in keys:
            bucket = table.get(k)
            if bucket is None:
                table[k] = key
            elif isinstance(bucket, list):
                if key not in bucket:
                    bucket.append(key)
            elif bucket != key:
                table[k] = [bucket, key]

    def query(self, sig: U32, keys: list[int] | None = None) -> set[int]:
        table = self._table
        found: set[int] = set()
        for k in table.keys() & self._keys(sig, keys):
            bucket = table[k]
            if isinstance(bucket, list):
                found.update(bucket)
            else:
                found.add(bucket)
        return found


class _Sketch:
    """What MinHashLSH reads from a MinHash: its hash values and their number."""

    __slots__ = ("hashvalues",)

    def __init__(self, hashvalues: U32) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


class DatasketchLSH:
    def __init__(self, num_perm: int, bands: int, rows: int) -> None:
        # Imported here: datasketch brings scipy (0.4 s to import, and OpenBLAS threads) into
        # every process that exports, CLI and workers included, for this reference alone.
        from datasketch import MinHashLSH

        self._lsh: MinHashLSH = MinHashLSH(num_perm=num_perm, params=(bands, rows))

    def insert(self, key: int, sig: U32, keys: list[int] | None = None) -> None:
        self._lsh.insert(key, _Sketch(sig), check_duplication=False)

    def query(self, sig: U32, keys: list[int] | None = None) -> set[int]:
        return {int(k) for k in self._lsh.query(_Sketch(sig))}
