"""Bad sources: clear errors, and nothing half-stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from forager.config import Settings
from forager.envs.harvest import build_from_source
from forager.errors import (
    InvalidSourceError,
    LimitExceededError,
    RefNotFoundError,
    SourceError,
    SourceNotFoundError,
)
from forager.sources.ingest import ingest
from forager.sources.spec import parse_source
from forager.store.db import session_scope
from forager.store.models import EnvironmentRow, SnapshotRow, SourceRow
from tests.repos import calc_package, git_commit, write


def _counts(url: str) -> tuple[int, int, int]:
    with session_scope(url) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) or 0  # type: ignore[return-value]
            for m in (SourceRow, SnapshotRow, EnvironmentRow)
        )


@pytest.mark.parametrize(
    ("spec", "error", "words"),
    [
        ("ftp://example.org/repo.git", InvalidSourceError, "unsupported scheme"),
        ("https:///no-host.git", InvalidSourceError, "no host"),
        ("", InvalidSourceError, "empty source"),
        ("not a source at all", InvalidSourceError, "cannot read"),
        ("pypi:bad name==1.0", InvalidSourceError, "invalid PyPI spec"),
        ("pypi:attrs==not..a..version", InvalidSourceError, "invalid PyPI spec"),
        ("/no/such/folder/anywhere", SourceNotFoundError, "no such path"),
    ],
)
def test_invalid_specs(spec: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        parse_source(spec)


def test_failures_store_nothing(tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / "r", calc_package("calc_r"))
    git_commit(repo)
    before = _counts(settings.db_url)
    cases: list[tuple[str, str | None, type[Exception]]] = [
        ("https://127.0.0.1:9/nothing-listens-here.git", None, SourceError),
        (f"file://{tmp_path}/missing-repo", None, SourceNotFoundError),
        (str(repo), "no-such-branch", RefNotFoundError),
        ("pypi:forager-no-such-project-zzz==1.0", None, SourceNotFoundError),
        ("pypi:attrs==0.0.1", None, SourceNotFoundError),
    ]
    for spec, ref, error in cases:
        with pytest.raises(error):
            build_from_source(spec, settings, ref=ref)
    assert _counts(settings.db_url) == before
    leftovers = [p.name for p in settings.repos_dir.iterdir() if p.name.startswith("ingest-")]
    assert leftovers == []


def test_huge_file_is_refused(tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / "big", calc_package("calc_big"))
    (repo / "data.bin").write_bytes(b"\0" * (3 * 1024 * 1024))
    small = settings.model_copy(update={"max_file_mb": 1.0})
    with pytest.raises(LimitExceededError, match=r"data.bin is 3.0 MB, over the single-file limit"):
        ingest(parse_source(str(repo)), small)
    git_commit(repo)  # the same limit holds for a git source
    with pytest.raises(LimitExceededError, match="single-file limit"):
        ingest(parse_source(str(repo)), small)


def test_too_many_files_is_refused(tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / "many", {f"pkg/m{i}.py": "x = 1\n" for i in range(60)})
    with pytest.raises(LimitExceededError, match="more than 50 files"):
        ingest(parse_source(str(repo)), settings.model_copy(update={"max_files": 50}))


def test_total_size_is_refused(tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / "fat", {f"blob{i}.txt": "y" * 400_000 + "\n" for i in range(4)})
    with pytest.raises(LimitExceededError, match="over the size limit of 1 MB"):
        ingest(parse_source(str(repo)), settings.model_copy(update={"max_repo_mb": 1.0}))


def test_git_ref_and_pinning(tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / "hist", calc_package("calc_h"))
    first = git_commit(repo, "one")
    (repo / "calc_h" / "extra.py").write_text("Z = 1\n")
    second = git_commit(repo, "two")
    head = ingest(parse_source(str(repo)), settings)
    assert head.commit_sha == second
    pinned = ingest(parse_source(str(repo), ref=first), settings)
    assert pinned.commit_sha == first
    assert not (pinned.repo_dir / "calc_h" / "extra.py").exists()
    by_url = ingest(parse_source(f"file://{repo}", ref="main"), settings)
    assert by_url.commit_sha == second


def test_pypi_sdist_becomes_a_reproducible_repo(settings: Settings) -> None:
    a = ingest(parse_source("pypi:toposort==1.10"), settings)
    b = ingest(parse_source("toposort==1.10"), settings)
    assert a.commit_sha == b.commit_sha and a.repo_dir == b.repo_dir
    assert (a.repo_dir / "PKG-INFO").exists() and (a.repo_dir / ".git").exists()


def test_plain_folder_symlink_escape_stays_a_link(tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / "links", calc_package("calc_l"))
    (repo / "escape").symlink_to("/etc")
    snap = ingest(parse_source(str(repo)), settings)
    copied = snap.repo_dir / "escape"
    assert copied.is_symlink() and not (snap.repo_dir / "escape" / "passwd").resolve().is_relative_to(
        snap.repo_dir
    )
