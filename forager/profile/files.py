"""Bounded, read-only access to the files of a checked-out repository.

Every read goes through `RepoFiles` so that oversized files and symlinks leading out of the
repository are refused in one place.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_WALK_FILES = 50_000

# Never project code: tool caches, virtualenvs, vendored JavaScript.
_PRUNED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "__pypackages__"})
PYTHON_SUFFIXES = (".py", ".pyi", ".pyx")


class RepoFiles:
    """Files of one repository, addressed by POSIX paths relative to its root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.notes: list[str] = []
        self._walked: list[str] | None = None

    def path(self, rel: str) -> Path | None:
        """Absolute path of `rel`, or None when it (or a symlink on the way) leaves the repository."""
        try:
            resolved = (self.root / rel).resolve()
        except (OSError, RuntimeError):
            return None
        return resolved if resolved.is_relative_to(self.root) else None

    def is_file(self, rel: str) -> bool:
        path = self.path(rel)
        return path is not None and path.is_file()

    def is_dir(self, rel: str) -> bool:
        path = self.path(rel)
        return path is not None and path.is_dir()

    def read_text(self, rel: str) -> str | None:
        """Text of a file inside the repository; None if absent, outside, unreadable or > 2 MB."""
        path = self.path(rel)
        if path is None or not path.is_file():
            return None
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                self.notes.append(f"skipped {rel}: larger than 2 MB")
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def listdir(self, rel: str = "") -> list[str]:
        """Sorted entry names of a folder inside the repository (empty when absent)."""
        path = self.path(rel) if rel else self.root
        if path is None or not path.is_dir():
            return []
        try:
            return sorted(entry.name for entry in path.iterdir())
        except OSError:
            return []

    def all_files(self) -> list[str]:
        """Every regular file, hidden folders and virtualenvs excluded; walked once, sorted."""
        if self._walked is None:
            self._walked = self._walk()
        return self._walked

    def python_files(self) -> list[str]:
        return [rel for rel in self.all_files() if rel.endswith(".py")]

    def has_python_code(self) -> bool:
        return any(rel.endswith(PYTHON_SUFFIXES) for rel in self.all_files())

    def _walk(self) -> list[str]:
        found: list[str] = []
        # followlinks=False: symlinked folders are listed but never entered (no loops, no escapes).
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not _pruned(d))
            base = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                rel = name if base == "." else posixpath.join(base, name)
                # Only symlinks can point elsewhere; resolving every file would be slow.
                if os.path.islink(os.path.join(dirpath, name)) and self.path(rel) is None:
                    continue
                found.append(rel)
                if len(found) >= MAX_WALK_FILES:
                    self.notes.append(f"stopped listing files after {MAX_WALK_FILES}")
                    return found
        return found


def _pruned(dirname: str) -> bool:
    return dirname.startswith(".") or dirname in _PRUNED_DIRS or dirname.endswith(".egg-info")


def inside_repo_path(base_dir: str, target: str) -> str | None:
    """Normalize `target` (relative to the repo folder `base_dir`) or None if it climbs out."""
    if target.startswith(("/", "~")) or "://" in target:
        return None
    joined = posixpath.normpath(posixpath.join(base_dir, target))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined
