"""Static analysis of a checked-out Python repository (never runs or imports its code)."""

from __future__ import annotations

from forager.profile.analyze import profile_repository
from forager.profile.models import RepoProfile
from forager.profile.python_choice import choose_python

__all__ = ["RepoProfile", "choose_python", "profile_repository"]
