"""Mutation engine for mutate-fix tasks: plant one small bug in one function of a file.

`enumerate_mutations` lists every valid, distinct candidate of the chosen families for a
file (or one function of it); `sample_mutations` picks a seeded, capped subset. Validation
in containers (keeping only mutations that make tests fail) happens elsewhere.
"""

from __future__ import annotations

from forager.tasks.mutations.engine import (
    deduplicate_mutations,
    enumerate_mutations,
    enumerate_source_mutations,
    read_source,
)
from forager.tasks.mutations.errors import MutationError
from forager.tasks.mutations.functions import function_at, functions_in
from forager.tasks.mutations.models import FAMILIES, Enumeration, Family, FunctionInfo, Mutation
from forager.tasks.mutations.sampling import sample_mutations

__all__ = [
    "FAMILIES",
    "Enumeration",
    "Family",
    "FunctionInfo",
    "Mutation",
    "MutationError",
    "deduplicate_mutations",
    "enumerate_mutations",
    "enumerate_source_mutations",
    "function_at",
    "functions_in",
    "read_source",
    "sample_mutations",
]
