"""Candidate indexes for near-duplicate search: LSH banding over MinHash signatures.

Two implementations of one protocol. `BandedLSH` keys a dict per band with the band's bytes
(tens of microseconds per episode, query and insert). `DatasketchLSH` is datasketch's
`MinHashLSH` with the same bands and rows: the reference the tests compare `BandedLSH` against,
about six times slower per episode (a byte swap and storage objects per band), which matters
when the export must keep pace with reading the store.
"""

from __future__ import annotations

from typing import Protocol

from datasketch import MinHashLSH

from model.export.minhash import U32


class CandidateIndex(Protocol):
    def insert(self, key: int, sig: U32) -> None: ...

    def query(self, sig: U32) -> set[int]: ...


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
    def __init__(self, num_perm: int, bands: int, rows: int) -> None:
        if bands * rows > num_perm:
            raise ValueError(f"{bands} bands x {rows} rows exceed {num_perm} hash values")
        self.bands, self.rows = bands, rows
        # A bucket is the one key that fell into it, or a list once a second one does: most
        # buckets never see a second key, and a list per bucket per band was the main cost.
        self._tables: list[dict[bytes, int | list[int]]] = [{} for _ in range(bands)]
        self._last: tuple[U32, list[bytes]] | None = None

    def _keys(self, sig: U32) -> list[bytes]:
        # The band's bytes are its key: slicing one bytes object beats any numpy mixing
        # for arrays this small. A query is usually followed by the insert of the same
        # signature, so its keys are kept for that.
        if self._last is not None and self._last[0] is sig:
            return self._last[1]
        raw = sig.astype("<u4", copy=False).tobytes()
        width = 4 * self.rows
        keys = [raw[i : i + width] for i in range(0, width * self.bands, width)]
        self._last = (sig, keys)
        return keys

    def insert(self, key: int, sig: U32) -> None:
        for table, k in zip(self._tables, self._keys(sig), strict=True):
            bucket = table.setdefault(k, key)
            if bucket is key:
                continue
            if isinstance(bucket, list):
                bucket.append(key)
            else:
                table[k] = [bucket, key]

    def query(self, sig: U32) -> set[int]:
        found: set[int] = set()
        for table, k in zip(self._tables, self._keys(sig), strict=True):
            bucket = table.get(k)
            if bucket is None:
                continue
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
        self._lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))

    def insert(self, key: int, sig: U32) -> None:
        self._lsh.insert(key, _Sketch(sig), check_duplication=False)

    def query(self, sig: U32) -> set[int]:
        return {int(k) for k in self._lsh.query(_Sketch(sig))}
