"""Near-duplicate removal within a repository, on the concatenated actions of an episode.

CWM's rule: keep episodes until all pairwise Jaccard similarities are below 0.5. Episodes
arrive in id order and one is kept when it is below the threshold against every episode
already kept for its repository (this export's and earlier exports'). An LSH index finds the
candidates; each candidate is then verified: exactly, on the shingle sets, while they are held
in memory (this export's episodes, within a budget), else by the MinHash estimate (episodes of
earlier exports, whose signatures are stored beside them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from model.export.lsh import BandedLSH, CandidateIndex, band_keys, lsh_params
from model.export.minhash import U32, U64, ShingleBatch, estimate_jaccard, exact_jaccard

IndexFactory = Callable[[int, int, int], CandidateIndex]  # (num_perm, bands, rows)


@dataclass
class _RepoIndex:
    lsh: CandidateIndex
    signatures: dict[int, U32] = field(default_factory=dict)
    shingles: dict[int, U64] = field(default_factory=dict)


class Sketch(NamedTuple):
    shingles: U64
    signature: U32
    band_keys: list[int]


@dataclass(frozen=True)
class DedupVerdict:
    kept: bool
    duplicate_of: int | None = None
    jaccard: float | None = None


class NearDuplicateIndex:
    def __init__(
        self,
        threshold: float = 0.5,
        num_perm: int = 128,
        shingle_words: int = 3,
        memory_mb: int = 1024,
        index_factory: IndexFactory = BandedLSH,
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_words = shingle_words
        self.bands, self.rows = lsh_params(threshold, num_perm)
        self.index_factory = index_factory
        self.memory_budget = memory_mb * 1024 * 1024
        self.memory_used = 0
        self._repos: dict[str, _RepoIndex] = {}
        self._prior: dict[str, list[tuple[int, U32]]] = {}
        self.kept: list[tuple[str, int, U32]] = []  # this run's kept episodes, to persist

    def add_prior(self, repo: str, episode_id: int, sig: U32) -> None:
        """A signature of an episode kept by an earlier export; indexed when its repo shows up."""
        self._prior.setdefault(repo, []).append((episode_id, sig))

    def _repo(self, repo: str) -> _RepoIndex:
        index = self._repos.get(repo)
        if index is None:
            index = _RepoIndex(lsh=self.index_factory(self.num_perm, self.bands, self.rows))
            for episode_id, sig in self._prior.pop(repo, []):
                index.lsh.insert(episode_id, sig)
                index.signatures[episode_id] = sig
            self._repos[repo] = index
        return index

    def sketch(self, actions_texts: Sequence[str]) -> list[Sketch]:
        """Shingles, signature and LSH band keys of each text (one batch: see ShingleBatch)."""
        return self.sketch_batch(ShingleBatch.of_texts(actions_texts, self.shingle_words))

    def sketch_batch(self, batch: ShingleBatch) -> list[Sketch]:
        sigs = batch.signatures(self.num_perm)
        keys = band_keys(sigs, self.bands, self.rows)
        return [Sketch(batch.shingles(i), sigs[i], keys[i]) for i in range(batch.size)]

    def check_and_add(
        self, repo: str, episode_id: int, shingles: U64, sig: U32, keys: list[int] | None = None
    ) -> DedupVerdict:
        """Keep (and index) the episode unless it is a near-copy of one kept before."""
        index = self._repo(repo)
        for other in sorted(index.lsh.query(sig, keys)):
            other_shingles = index.shingles.get(other)
            if other_shingles is not None:
                j = exact_jaccard(shingles, other_shingles)
            else:
                j = estimate_jaccard(sig, index.signatures[other])
            if j >= self.threshold:
                return DedupVerdict(kept=False, duplicate_of=other, jaccard=j)
        index.lsh.insert(episode_id, sig, keys)
        index.signatures[episode_id] = sig
        if self.memory_used + shingles.nbytes <= self.memory_budget:
            # A view of its batch's array, not a copy (copying every kept episode's shingles
            # cost a tenth of an export's time): the batch's array stays alive, dropped
            # episodes' shingles with it, a small share on top of the budget.
            index.shingles[episode_id] = shingles
            self.memory_used += shingles.nbytes
        self.kept.append((repo, episode_id, sig))
        return DedupVerdict(kept=True)
