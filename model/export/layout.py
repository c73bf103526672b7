"""The output folder of an export job and its atomic commit.

    OUT/
      .lock                       held while an export runs (one writer per folder)
      .staging-<random>/          an export being written; deleted if it never commits
      exports/episodes-000001/    committed: manifest.json, shards, dedup signatures
      exports/traces-000001/

An export is written into a staging folder and committed by one rename(2) of that folder into
`exports/`. Nothing else is ever changed, so the watermark and the dedup state, which are read
back from the committed manifests, move exactly when the shards appear: an export interrupted
before the rename leaves no trace, and the next run starts from the same watermark.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from model.errors import ExportError
from model.export.manifest import MANIFEST_NAME, ExportKind, ExportManifest, read_manifest

_COMMITTED = re.compile(r"^(?P<kind>episodes|traces)-(?P<seq>\d{6})$")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ExportDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.exports = self.root / "exports"

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.exports.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ExportError(
                    f"another export is writing to {self.root}; wait for it to finish"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def remove_stale_staging(self) -> list[Path]:
        """Staging folders of interrupted exports (call with the lock held)."""
        stale = sorted(self.root.glob(".staging-*"))
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        return stale

    def new_staging(self) -> Path:
        path = self.root / f".staging-{secrets.token_hex(6)}"
        path.mkdir()
        return path

    def committed(self, kind: ExportKind | None = None) -> list[tuple[int, Path]]:
        """Committed export folders as (sequence, path), oldest first."""
        found: list[tuple[int, Path]] = []
        if not self.exports.is_dir():
            return found
        for path in self.exports.iterdir():
            m = _COMMITTED.match(path.name)
            if m and (kind is None or m["kind"] == kind) and (path / MANIFEST_NAME).is_file():
                found.append((int(m["seq"]), path))
        return sorted(found)

    def manifests(self, kind: ExportKind | None = None) -> list[tuple[Path, ExportManifest]]:
        return [(path, read_manifest(path)) for _, path in self.committed(kind)]

    def last_manifest(self, kind: ExportKind) -> ExportManifest | None:
        done = self.committed(kind)
        return read_manifest(done[-1][1]) if done else None

    def next_sequence(self, kind: ExportKind) -> int:
        done = self.committed(kind)
        return done[-1][0] + 1 if done else 1

    def commit(self, staging: Path, kind: ExportKind, sequence: int) -> Path:
        """Make a staged export visible: fsync its files, then rename the folder (atomic)."""
        for path in staging.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(staging)
        target = self.exports / f"{kind}-{sequence:06d}"
        if target.exists():
            raise ExportError(f"{target} exists already: another export committed concurrently")
        os.rename(staging, target)
        fsync_dir(self.exports)
        return target
