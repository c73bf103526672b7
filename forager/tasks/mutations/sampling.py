"""Choosing a seeded, capped, family-balanced subset of candidate mutations."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence

from forager.tasks.mutations.errors import MutationError
from forager.tasks.mutations.models import Mutation


def sample_mutations(
    candidates: Sequence[Mutation],
    max_per_family: int | None = None,
    max_per_function: int | None = None,
    seed: int = 0,
) -> list[Mutation]:
    """At most `max_per_family` mutations of each family and `max_per_function` of each function.

    Families take turns (round-robin over a seeded shuffle), so a function's quota is spread
    over its families instead of going to whichever family has the most candidates. The
    result depends only on the set of candidates and the seed, and keeps the input order.
    """
    for name, cap in (("max_per_family", max_per_family), ("max_per_function", max_per_function)):
        if cap is not None and cap < 0:
            raise MutationError(f"{name} must be >= 0, got {cap}")
    unique = {m.id: m for m in candidates}
    order = sorted(unique.values(), key=lambda m: m.id)
    random.Random(seed).shuffle(order)
    queues: dict[str, deque[Mutation]] = {}
    for m in order:
        queues.setdefault(m.family, deque()).append(m)
    per_family: dict[str, int] = {}
    per_function: dict[tuple[str, str, tuple[int, int]], int] = {}
    picked: set[str] = set()
    while queues:
        for family in list(queues):
            queue = queues[family]
            if not queue or (max_per_family is not None and per_family.get(family, 0) >= max_per_family):
                del queues[family]
                continue
            m = queue.popleft()
            # function_lines tells apart defs sharing a name (a property's getter and setter).
            function = (m.file, m.symbol, m.function_lines)
            if max_per_function is not None and per_function.get(function, 0) >= max_per_function:
                continue
            per_family[family] = per_family.get(family, 0) + 1
            per_function[function] = per_function.get(function, 0) + 1
            picked.add(m.id)
    seen: set[str] = set()
    out: list[Mutation] = []
    for m in candidates:
        if m.id in picked and m.id not in seen:
            seen.add(m.id)
            out.append(m)
    return out
