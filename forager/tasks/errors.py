"""Errors of task generation."""

from __future__ import annotations

from forager.errors import ForagerError


class TaskGenerationError(ForagerError):
    """Tasks cannot be generated for this environment."""
