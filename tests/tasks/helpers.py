"""Shared helpers for the mutation tests."""

from __future__ import annotations

from forager.tasks.mutations import enumerate_source_mutations

FILE = "pkg/mod.py"


def outcomes(source: str, family: str, symbol: str | None = None) -> dict[str, str]:
    """Every candidate of one family as {description: whole mutated file}."""
    result = enumerate_source_mutations(source, FILE, symbol, {family})
    found = {m.description: m.mutated_source for m in result.mutations}
    assert len(found) == len(result.mutations), "descriptions must tell candidates apart"
    return found
