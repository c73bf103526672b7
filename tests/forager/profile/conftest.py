"""Fixtures writing small synthetic repositories for the profile tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from forager.profile import RepoProfile, profile_repository

WriteRepo = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_repo(tmp_path: Path) -> WriteRepo:
    """Write {relative path: text} into a fresh `repo/` folder (text is dedented)."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "repo"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return write


@pytest.fixture
def profile_of(write_repo: WriteRepo) -> Callable[[dict[str, str]], RepoProfile]:
    """Write a repository and profile it."""

    def profile(files: dict[str, str]) -> RepoProfile:
        return profile_repository(write_repo(files))

    return profile
