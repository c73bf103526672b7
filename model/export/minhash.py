"""Shingling and MinHash signatures of action text, vectorized with numpy.

datasketch's `MinHash.update_batch` hashes every shingle in Python and applies all
permutations to all of them (~10 ms for 3k shingles): slower than reading the rows from
PostgreSQL. Here the texts of a batch of episodes are hashed together: words with one
polynomial pass over the UTF-8 bytes, word n-grams combined and mixed in uint64. The
signature is *one-permutation hashing* (Li, Owen & Zhang 2012): each shingle hash picks one
of `num_perm` bins by its high bits and the bin keeps the minimum of its low 32 bits. Bins of
two sets agree with probability equal to their Jaccard similarity, which is what LSH banding
needs (see model.export.lsh). Empty bins hold EMPTY and are left out of the estimate.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

EMPTY = np.uint32(0xFFFFFFFF)
# Words are hashed modulo 2**32 (half the memory traffic of 64 bits, the bulk of the cost),
# then mixed to 64: 32 bits tell words apart well enough for similarity (a collision between
# two words moves a Jaccard estimate by a shingle or two), and shingles of 3 words hold 96.
_P = np.uint32(0x01000193)  # FNV-32 prime: odd, so it has an inverse modulo 2**32
_P_INV = np.uint32(pow(0x01000193, -1, 1 << 32))  # P**-1 modulo 2**32
_C1, _C2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_MULTS = np.array(
    [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93] * 4, dtype=np.uint64
)


def fmix64(h: U64) -> U64:
    # MurmurHash3's finalizer: a bijection that spreads every input bit over the output.
    h = h ^ (h >> np.uint64(33))
    h = h * _C1
    h = h ^ (h >> np.uint64(33))
    h = h * _C2
    return h ^ (h >> np.uint64(33))


U32_ = npt.NDArray[np.uint32]


class _Powers:
    """P**i and P**-i modulo 2**32 for i < n, grown on demand (replaced as one tuple, so a
    thread never sees the two arrays at different sizes)."""

    def __init__(self) -> None:
        one = np.ones(1, dtype=np.uint32)
        self.tables: tuple[U32_, U32_] = (one, one)

    def get(self, n: int) -> tuple[U32_, U32_]:
        tables = self.tables
        if n <= len(tables[0]):
            return tables
        size = max(n, 2 * len(tables[0]))
        self.tables = (_geometric(_P, size), _geometric(_P_INV, size))
        return self.tables


def _geometric(base: np.uint32, size: int) -> U32_:
    """base**i modulo 2**32 for i < size, by doubling: log2(size) vectorized multiplies
    (np.cumprod does one multiply per element in a loop, 50 times slower)."""
    out = np.empty(size, dtype=np.uint32)
    out[0] = 1
    k = 1
    with np.errstate(over="ignore"):
        while k < size:
            m = min(k, size - k)
            np.multiply(out[:m], out[k - 1] * base, out=out[k : k + m])  # base**(j+k)
            k += m
    return out


_powers = _Powers()
SLAB_BYTES = 1 << 20  # texts are hashed in slabs of about this size: bounds the power tables
_local = threading.local()  # per thread: a scratch buffer for word_hashes


def _scratch(n: int) -> U32_:
    buf: U32_ | None = getattr(_local, "buf", None)
    if buf is None or buf.size < n:
        buf = np.empty(max(n, 2 * SLAB_BYTES), dtype=np.uint32)
        _local.buf = buf
    return buf[:n]


def word_hashes(
    data: bytes | npt.NDArray[np.uint8], breaks: npt.NDArray[np.intp] | None = None
) -> tuple[U64, npt.NDArray[np.intp]]:
    """A 64-bit hash per whitespace-separated word (the same wherever the word stands), and
    the byte offset where each word starts. `breaks`: byte offsets that end any word, as a
    separator inserted before them would (where one text of a buffer ends and the next begins)."""
    b = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    if b.size == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.intp)
    word = b > 32  # space, tabs, newlines and other control bytes separate words
    edge = np.empty_like(word)  # a word starts where a word byte follows a separator
    edge[0] = word[0]
    np.greater(word[1:], word[:-1], out=edge[1:])
    if breaks is not None and breaks.size:
        breaks = breaks[breaks < b.size]
        edge[breaks] = word[breaks]
    starts = np.flatnonzero(edge)
    if starts.size == 0:
        return np.empty(0, dtype=np.uint64), starts
    powers, inverse = _powers.get(b.size)
    with np.errstate(over="ignore"):
        # sum of (byte+1) * P**pos over a word, then times P**-start: unsigned numpy
        # arithmetic wraps, which is exactly arithmetic modulo 2**32, where P is invertible.
        # (byte+1) is taken modulo 256: 0xFF never occurs in UTF-8. Separators contribute 0,
        # so a word's sum runs to the next start: the difference of two running sums. In
        # place, in a buffer kept per thread: the one array four times the size of the
        # text, whose fresh pages the kernel would otherwise zero for every slab.
        value = b + np.uint8(1)
        value *= word
        running = _scratch(b.size)
        np.multiply(value, powers[: b.size], out=running)
        np.cumsum(running, dtype=np.uint32, out=running)
        sums = running[np.append(starts[1:], b.size) - 1]
        sums[1:] -= running[starts[1:] - 1]
        if starts[0] > 0:
            sums[0] -= running[starts[0] - 1]
        sums *= inverse[starts]
        return fmix64(sums.astype(np.uint64)), starts


def _ngrams(w: U64, n: int) -> U64:
    with np.errstate(over="ignore"):
        acc = w[: w.size - n + 1] * _MULTS[0]
        for k in range(1, n):
            acc = acc + w[k : w.size - n + 1 + k] * _MULTS[k % len(_MULTS)]
        return fmix64(acc)


class ShingleBatch:
    """The word n-gram hashes of several texts, computed together.

    The texts lie end to end in one UTF-8 buffer (`bounds`: n+1 byte offsets), as Arrow holds
    a column of strings; `breaks` are more offsets that end words, so a text made of several
    parts (an episode's actions) shingles as the parts joined by a newline would, without
    being joined. numpy's per-call cost, not the bytes, dominates for texts of a few
    kilobytes: a batch of 500 episodes costs about what 20 single ones do. A text's hashes are
    not deduplicated (signatures take minima, so repeats do not matter); `unique` is applied
    where sets matter.
    """

    def __init__(
        self,
        data: npt.NDArray[np.uint8],
        bounds: npt.NDArray[np.intp],
        words: int,
        breaks: npt.NDArray[np.intp] | None = None,
    ) -> None:
        self.size = len(bounds) - 1
        self.words = words
        self.short: dict[int, U64] = {}
        hashes: list[U64] = []
        owners: list[npt.NDArray[np.intp]] = []
        first = 0
        while first < self.size:
            # Slabs of about SLAB_BYTES (whole texts): bounds the power tables and scratch.
            last = int(np.searchsorted(bounds, bounds[first] + SLAB_BYTES, side="right")) - 1
            last = min(max(last, first + 1), self.size)
            h, o = self._slab(data, bounds, breaks, first, last)
            hashes.append(h)
            owners.append(o)
            first = last
        self.hashes: U64 = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        self.owners: npt.NDArray[np.intp] = np.concatenate(owners) if owners else np.empty(0, dtype=np.intp)
        self.bounds = np.searchsorted(self.owners, np.arange(self.size + 1))

    @classmethod
    def of_texts(cls, texts: Sequence[str], words: int) -> ShingleBatch:
        encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.intp, count=len(encoded))
        bounds = np.concatenate(([0], np.cumsum(lengths))).astype(np.intp)
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), bounds, words)

    def _slab(
        self,
        data: npt.NDArray[np.uint8],
        bounds: npt.NDArray[np.intp],
        breaks: npt.NDArray[np.intp] | None,
        first: int,
        last: int,
    ) -> tuple[U64, npt.NDArray[np.intp]]:
        lo, hi = int(bounds[first]), int(bounds[last])
        text_starts = bounds[first:last] - lo
        cuts = text_starts[1:]  # every text start ends the words before it
        if breaks is not None:
            inside = breaks[(breaks > lo) & (breaks < hi)] - lo
            cuts = np.concatenate((cuts, inside)) if inside.size else cuts
        w, word_starts = word_hashes(data[lo:hi], cuts)
        # Words per text from where each text's first word is (a search per text, not per word).
        first_word = np.searchsorted(word_starts, text_starts, side="left")
        per_text = np.diff(np.append(first_word, word_starts.size))
        owner = np.repeat(np.arange(last - first, dtype=np.intp), per_text)
        for t in np.flatnonzero((per_text > 0) & (per_text < self.words)).tolist():
            # A text shorter than n words is one shingle of all its words.
            start, n = int(first_word[t]), int(per_text[t])
            self.short[first + t] = _ngrams(w[start : start + n], n)
        if w.size < self.words:
            return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.intp)
        grams = _ngrams(w, self.words)
        whole = owner[: grams.size] == owner[self.words - 1 :]  # the n-gram lies in one text
        return grams[whole], owner[: grams.size][whole] + first

    def shingles(self, i: int) -> U64:
        """Text i's n-gram hashes, in text order, repeats included."""
        short = self.short.get(i)
        if short is not None:
            return short
        return self.hashes[self.bounds[i] : self.bounds[i + 1]]

    def signatures(self, num_perm: int) -> U32:
        """One-permutation MinHash signatures, one row per text: per bin, the least low-32-bit
        value of the text's shingles whose high bits pick that bin."""
        sigs = np.full(self.size * num_perm, EMPTY, dtype=np.uint32)
        hashes, owners = self.hashes, self.owners
        if self.short:
            hashes = np.concatenate([hashes, *self.short.values()])
            owners = np.concatenate([owners, np.fromiter(self.short, dtype=np.intp, count=len(self.short))])
        if hashes.size:
            bins = ((hashes >> np.uint64(32)) % np.uint64(num_perm)).astype(np.intp)
            values = (hashes & np.uint64(0xFFFFFFFE)).astype(np.uint32)  # never EMPTY
            np.minimum.at(sigs, owners * num_perm + bins, values)
        return sigs.reshape(self.size, num_perm)


def unique(a: U64) -> U64:
    """Sorted unique values (np.unique is several times slower on small uint64 arrays)."""
    s = np.sort(a)
    if s.size < 2:
        return s
    return s[np.concatenate(([True], s[1:] != s[:-1]))]


def shingle_hashes(text: str, words: int) -> U64:
    """Sorted unique hashes of the word n-grams of text (the whole text when it is shorter)."""
    return unique(ShingleBatch.of_texts([text], words).shingles(0))


def signature(shingles: U64, num_perm: int) -> U32:
    """The signature of one shingle array (as `ShingleBatch.signatures` computes it)."""
    sig = np.full(num_perm, EMPTY, dtype=np.uint32)
    if shingles.size:
        bins = ((shingles >> np.uint64(32)) % np.uint64(num_perm)).astype(np.intp)
        values = (shingles & np.uint64(0xFFFFFFFE)).astype(np.uint32)
        np.minimum.at(sig, bins, values)
    return sig


def estimate_jaccard(a: U32, b: U32) -> float:
    """Share of equal bins among bins that are not empty in both (the OPH estimator)."""
    used = (a != EMPTY) | (b != EMPTY)
    n = int(used.sum())
    if n == 0:
        return 1.0
    return float(((a == b) & used).sum()) / n


def exact_jaccard(a: U64, b: U64) -> float:
    """Jaccard similarity of the sets of two shingle-hash arrays."""
    a, b = unique(a), unique(b)
    if a.size == 0 and b.size == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)
