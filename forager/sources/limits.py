"""Size limits on a checked-out repository, checked without following symlinks."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from forager.errors import LimitExceededError

MB = 1024 * 1024


@dataclass(frozen=True)
class RepoLimits:
    max_bytes: int
    max_files: int
    max_file_bytes: int


@dataclass(frozen=True)
class TreeStats:
    files: int
    total_bytes: int


def tree_size(root: Path) -> int:
    """Bytes below root (including .git), for watching a clone as it grows."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):  # a file may vanish while git writes
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def check_tree(root: Path, limits: RepoLimits) -> TreeStats:
    """Count the working tree (not .git) and raise LimitExceededError past any limit."""
    files = 0
    total = 0
    for dirpath, dirs, names in os.walk(root):
        if ".git" in dirs:
            dirs.remove(".git")
        for name in names:
            path = os.path.join(dirpath, name)
            size = os.lstat(path).st_size
            files += 1
            total += size
            if size > limits.max_file_bytes:
                rel = os.path.relpath(path, root)
                raise LimitExceededError(
                    f"file {rel} is {size / MB:.1f} MB, over the single-file limit of "
                    f"{limits.max_file_bytes / MB:.1f} MB (FORAGER_MAX_FILE_MB)"
                )
            if files > limits.max_files:
                raise LimitExceededError(
                    f"repository has more than {limits.max_files} files (FORAGER_MAX_FILES)"
                )
            if total > limits.max_bytes:
                raise LimitExceededError(
                    f"repository is over the size limit of {limits.max_bytes / MB:.0f} MB "
                    "(FORAGER_MAX_REPO_MB)"
                )
    return TreeStats(files=files, total_bytes=total)
