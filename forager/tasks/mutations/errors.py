"""Errors of the mutation engine."""

from __future__ import annotations

from forager.errors import ForagerError


class MutationError(ForagerError):
    """A file cannot be mutated: it is missing, does not parse, or the target is unknown."""
