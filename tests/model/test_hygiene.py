"""Near-dedup, decontamination, splits by repository, observation masks."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from forager.store.db import session_scope
from model.export import ExportOptions, run_export
from model.export.decontamination import SWE_BENCH_REPOS, RepoMatcher, read_repo_list
from model.export.documents import observation_masks
from model.export.lsh import BandedLSH, DatasketchLSH, lsh_params
from model.export.minhash import ShingleBatch, exact_jaccard, shingle_hashes, signature, unique
from model.export.near_dedup import NearDuplicateIndex
from model.export.repos import repo_key
from model.export.splits import split_of
from tests.model.conftest import settings_for
from tests.model.reference import exported, jaccard, shingles
from tests.model.store_seed import WORDS, add_episode, add_repo, random_actions


def _text(rng: random.Random, n: int = 300) -> list[str]:
    return [rng.choice(WORDS) for _ in range(n)]


def _sketch(index: NearDuplicateIndex, text: str) -> tuple[np.ndarray, np.ndarray]:
    return index.sketch([text])[0]


def test_dedup_drops_near_copies_and_keeps_distinct_episodes() -> None:
    rng = random.Random(0)
    index = NearDuplicateIndex(threshold=0.5)
    base = _text(rng)
    variants = {
        "original": base,
        "copy": list(base),
        "one word in ten changed": [w if i % 10 else rng.choice(WORDS) for i, w in enumerate(base)],
        "distinct": _text(rng),
        "shares a third": base[:100] + _text(rng, 200),
        "another distinct": _text(rng),
    }
    kept = {}
    for k, (name, words) in enumerate(variants.items()):
        verdict = index.check_and_add("repo", k, *_sketch(index, " ".join(words)))
        kept[name] = verdict.kept
        if not verdict.kept:
            assert verdict.duplicate_of == 0 and verdict.jaccard is not None and verdict.jaccard >= 0.5
    assert kept == {
        "original": True,
        "copy": False,
        "one word in ten changed": False,  # Jaccard ~0.6 on word 3-grams
        "distinct": True,
        "shares a third": True,  # Jaccard ~0.2
        "another distinct": True,
    }
    # Dedup is within a repository: the same text elsewhere is kept.
    assert index.check_and_add("other-repo", 99, *_sketch(index, " ".join(base))).kept


def test_kept_episodes_are_pairwise_below_the_threshold() -> None:
    """CWM's promise, checked exactly on a family of overlapping texts."""
    rng = random.Random(1)
    base = _text(rng, 400)
    texts = []
    for _ in range(60):  # each keeps a random share of the base and adds fresh words
        keep = rng.uniform(0.2, 1.0)
        texts.append(" ".join(w if rng.random() < keep else rng.choice(WORDS) for w in base))
    index = NearDuplicateIndex(threshold=0.5)
    kept = [t for k, t in enumerate(texts) if index.check_and_add("r", k, *_sketch(index, t)).kept]
    sets = [shingles(t) for t in kept]
    assert 1 < len(kept) < len(texts)
    assert all(jaccard(a, b) < 0.5 for i, a in enumerate(sets) for b in sets[i + 1 :])
    # ... and every dropped text is at or above it against some kept one (greedy, in order).
    for t in texts:
        if t not in kept:
            assert max(jaccard(shingles(t), s) for s in sets) >= 0.5


def test_banded_lsh_finds_what_datasketch_finds() -> None:
    rng = np.random.default_rng(0)
    bands, rows = lsh_params(0.5, 128)
    fast, reference = BandedLSH(128, bands, rows), DatasketchLSH(128, bands, rows)
    base = rng.integers(0, 2**32 - 2, 128, dtype=np.uint64).astype(np.uint32)
    for key in range(300):
        sig = base.copy()
        changed = rng.random(128) < rng.uniform(0.3, 1.0)  # some near the base, most far
        sig[changed] = rng.integers(0, 2**32 - 2, int(changed.sum()), dtype=np.uint64).astype(np.uint32)
        assert fast.query(sig) == reference.query(sig)
        fast.insert(key, sig)
        reference.insert(key, sig)


def test_lsh_parameters_catch_pairs_at_the_threshold() -> None:
    for threshold in (0.3, 0.5, 0.8):
        bands, rows = lsh_params(threshold, 128)
        assert bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= 0.995


def test_minhash_estimates_jaccard_and_batches_agree() -> None:
    rng = random.Random(2)
    texts = [" ".join(_text(rng, rng.randint(0, 400))) for _ in range(40)] + ["", "one", "two words"]
    batch = ShingleBatch.of_texts(texts, 3)
    sigs = batch.signatures(128)
    for i, t in enumerate(texts):
        assert np.array_equal(unique(batch.shingles(i)), shingle_hashes(t, 3))
        assert np.array_equal(sigs[i], signature(shingle_hashes(t, 3), 128))
    a, b = " ".join(_text(rng, 2000)).split(), None
    b = a[:1000] + _text(rng, 1000)
    sa, sb = shingle_hashes(" ".join(a), 3), shingle_hashes(" ".join(b), 3)
    assert exact_jaccard(sa, sb) == pytest.approx(jaccard(shingles(" ".join(a)), shingles(" ".join(b))))
    from model.export.minhash import estimate_jaccard

    assert estimate_jaccard(signature(sa, 128), signature(sb, 128)) == pytest.approx(
        exact_jaccard(sa, sb), abs=0.12
    )


def test_repository_identity_and_decontamination(tmp_path: Path) -> None:
    assert repo_key("git@github.com:Django/django.git") == repo_key("https://github.com/django/django")
    assert repo_key("pypi:Scikit_Learn==1.4.0") == repo_key("pypi:scikit-learn==1.5.1") == "pypi:scikit-learn"
    matcher = RepoMatcher(SWE_BENCH_REPOS)
    assert len(matcher) == 12
    for spec in (
        "https://github.com/django/django",
        "git@github.com:django/django.git",
        "https://github.com/someone/django",  # a fork keeps the name
        "pypi:Django==4.2",  # the sdist of the same project
        "pypi:scikit_learn==1.5.0",
        "https://github.com/pytest-dev/pytest.git",
    ):
        assert matcher.match(spec), spec
    for spec in (
        "https://github.com/acme/django-extensions",
        "pypi:requests-toolbelt==1.0",
        "path:/src/flasky",
    ):
        assert matcher.match(spec) is None, spec
    assert (
        RepoMatcher(["django/django"], match_forks=False).match("https://github.com/someone/django") is None
    )
    listing = tmp_path / "exclude.txt"
    listing.write_text("# mine\nacme/secret  # benchmark\n\npypi:leaky\n")
    assert read_repo_list(listing) == ["acme/secret", "pypi:leaky"]


def test_no_repository_lands_in_both_splits(sqlite_url: str, tmp_path: Path) -> None:
    rng = random.Random(5)
    with session_scope(sqlite_url) as s:
        repos = [add_repo(s, f"https://github.com/org/repo{i}") for i in range(24)]
        repos += [add_repo(s, "pypi:shared==1.0"), add_repo(s, "pypi:shared==2.0")]  # one repository
        for k in range(130):
            add_episode(s, repos[k % len(repos)], random_actions(rng, rng.randint(1, 4)))
    options = ExportOptions(validation_fraction=0.3, split_seed=11)
    manifest = run_export(settings_for(sqlite_url, tmp_path), tmp_path / "out", options)
    sides: dict[str, set[str]] = {}
    for doc in exported(tmp_path / "out", "parquet").values():
        sides.setdefault(doc["repo"], set()).add(doc["split"])
    assert all(len(s) == 1 for s in sides.values()), sides
    assert {next(iter(s)) for s in sides.values()} == {"train", "validation"}
    assert len(sides) == 25 and manifest.counts.repositories == 25
    # Shard files are per split too.
    assert {s.split for s in manifest.shards} == {"train", "validation"}
    # The side is a pure function of (repository, seed, fraction): stable across exports.
    assert all(split_of(repo, 0.3, 11) == next(iter(s)) for repo, s in sides.items())


def test_observation_masks_are_exact_seeded_and_batch_independent() -> None:
    ids, counts = list(range(100, 160)), [random.Random(i).randint(0, 12) for i in range(60)]
    masks = observation_masks(ids, counts, 0.5, seed=3)
    for n, m in zip(counts, masks, strict=True):
        assert len(m) == n and m.count(False) in (n // 2, (n + 1) // 2)
    # The same episode gets the same mask in any batch; another seed gives another mask.
    alone = [observation_masks([i], [n], 0.5, seed=3)[0] for i, n in zip(ids, counts, strict=True)]
    assert alone == masks
    assert observation_masks(ids, counts, 0.5, seed=4) != masks
    total = sum(counts)
    assert sum(m.count(False) for m in masks) == pytest.approx(total / 2, abs=total * 0.1)
    assert all(all(m) for m in observation_masks(ids, counts, 0.0, seed=3))
    assert not any(any(m) for m in observation_masks(ids, counts, 1.0, seed=3))


def test_shingles_of_an_episodes_steps_in_one_buffer_equal_its_joined_actions() -> None:
    """The export shingles each episode's actions where Arrow holds them, end to end with
    breaks at step boundaries: the same shingles as the actions joined by newlines."""
    rng = random.Random(5)
    parts = ["", "x", "a b", "tail-", "-head", " lead", "trail ", "déjà vu 日本語"]
    episodes = [
        [rng.choice(parts) + " ".join(_text(rng, rng.randint(0, 40))) + rng.choice(parts) for _ in range(k)]
        for k in [rng.randint(0, 6) for _ in range(60)]
    ]
    flat = [step.encode() for steps in episodes for step in steps]
    step_offsets = np.concatenate(([0], np.cumsum([len(b) for b in flat]))).astype(np.intp)
    first_step = np.concatenate(([0], np.cumsum([len(e) for e in episodes]))).astype(np.intp)
    data = np.frombuffer(b"".join(flat), dtype=np.uint8)
    batch = ShingleBatch(data, step_offsets[first_step], 3, breaks=step_offsets[1:-1])
    joined = ShingleBatch.of_texts(["\n".join(steps) for steps in episodes], 3)
    for i, steps in enumerate(episodes):
        assert np.array_equal(unique(batch.shingles(i)), unique(joined.shingles(i))), steps
        assert np.array_equal(unique(batch.shingles(i)), shingle_hashes("\n".join(steps), 3))
    assert np.array_equal(batch.signatures(128), joined.signatures(128))
