"""`sample_mutations`: caps per family and per function, seeded and order-independent."""

from __future__ import annotations

from collections import Counter

import pytest

from forager.tasks.mutations import MutationError, enumerate_source_mutations, sample_mutations
from tests.tasks.helpers import FILE
from tests.tasks.test_mutation_engine import NESTED
from tests.tasks.test_mutation_patches import SAMPLE

CANDIDATES = [
    *enumerate_source_mutations(SAMPLE, FILE).mutations,
    *enumerate_source_mutations(NESTED, "pkg/nested.py").mutations,
]


def test_caps_are_respected() -> None:
    picked = sample_mutations(CANDIDATES, max_per_family=3, max_per_function=5, seed=1)
    assert max(Counter(m.family for m in picked).values()) <= 3
    assert max(Counter((m.file, m.symbol) for m in picked).values()) <= 5
    # Families take turns, so one function's quota spreads over several families.
    compute = [m for m in picked if m.symbol == "compute"]
    assert len(compute) == 5 and len({m.family for m in compute}) == 5


def test_no_caps_keeps_everything_in_input_order() -> None:
    assert sample_mutations(CANDIDATES, seed=3) == CANDIDATES


def test_same_seed_same_sample_whatever_the_input_order() -> None:
    first = sample_mutations(CANDIDATES, max_per_family=2, max_per_function=4, seed=7)
    again = sample_mutations(list(reversed(CANDIDATES)), max_per_family=2, max_per_function=4, seed=7)
    assert {m.id for m in first} == {m.id for m in again}
    others = [
        {m.id for m in sample_mutations(CANDIDATES, max_per_family=2, max_per_function=4, seed=s)}
        for s in range(8, 12)
    ]
    assert any(o != {m.id for m in first} for o in others)


def test_zero_and_negative_caps() -> None:
    assert sample_mutations(CANDIDATES, max_per_family=0, seed=0) == []
    with pytest.raises(MutationError, match="max_per_function must be >= 0"):
        sample_mutations(CANDIDATES, max_per_function=-1, seed=0)
