"""Errors of the trace tooling."""

from __future__ import annotations

from forager.errors import ForagerError


class TraceError(ForagerError):
    """A trace is malformed, or cannot be rendered as asked (e.g. it was truncated)."""
