"""Train/validation split by repository: a seeded hash of the repository decides its side.

Hashing (not sampling) makes the side of a repository stable across incremental exports and
machines, so no repository ever lands on both sides.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

TRAIN, VALIDATION = "train", "validation"


@lru_cache(maxsize=65536)
def split_of(repo: str, validation_fraction: float, seed: int) -> str:
    digest = hashlib.sha256(f"{seed}\x00{repo}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return VALIDATION if u < validation_fraction else TRAIN
