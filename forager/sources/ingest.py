"""Ingest: bring a source onto the host as a git repository pinned at a commit.

Repository code never runs on the host: clones run with hooks off and no submodules,
sdists are downloaded and unpacked (never built), plain folders are copied.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import git
from pydantic import BaseModel, ConfigDict

from forager.config import Settings
from forager.errors import LimitExceededError, RefNotFoundError, SourceError, SourceNotFoundError
from forager.protocols import NullReporter, Reporter
from forager.sources import pypi
from forager.sources.limits import MB, RepoLimits, check_tree, tree_size
from forager.sources.spec import SourceSpec

# A fixed identity and date make a folder's or sdist's snapshot sha reproducible.
_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "forager",
    "GIT_AUTHOR_EMAIL": "forager@localhost",
    "GIT_COMMITTER_NAME": "forager",
    "GIT_COMMITTER_EMAIL": "forager@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}
# Never prompt, never run hooks or helpers from the repository, never fetch submodules.
_GIT_SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "protocol.ext.allow=never", "-c", "core.fsmonitor=false"]


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: SourceSpec
    commit_sha: str
    name: str
    repo_dir: Path
    file_count: int
    total_bytes: int
    ref: str | None = None


def limits_of(settings: Settings) -> RepoLimits:
    return RepoLimits(
        max_bytes=int(settings.max_repo_mb * MB),
        max_files=settings.max_files,
        max_file_bytes=int(settings.max_file_mb * MB),
    )


def ingest(source: SourceSpec, settings: Settings, reporter: Reporter | None = None) -> Snapshot:
    """Fetch the source into `settings.repos_dir/<name>-<sha12>` and return its snapshot."""
    reporter = reporter or NullReporter()
    settings.repos_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=settings.repos_dir))
    checkout = work / "repo"
    try:
        name = source.display_name
        if source.kind == "pypi":
            name = _fetch_pypi(source, checkout, settings, reporter)
        elif source.kind == "local":
            _fetch_local(source, checkout, settings, reporter)
        else:
            _clone(source.location, checkout, settings, reporter)
        if source.ref:
            _checkout(checkout, source.ref)
        stats = check_tree(checkout, limits_of(settings))
        sha = git.Repo(checkout).head.commit.hexsha
        final = settings.repos_dir / f"{_slug(name)}-{sha[:12]}"
        if not final.exists():
            os.replace(checkout, final)
        reporter.stage(
            "ingested", f"{name} @ {sha[:12]} ({stats.files} files, {stats.total_bytes / MB:.1f} MB)"
        )
        return Snapshot(
            source=source,
            commit_sha=sha,
            name=name,
            repo_dir=final,
            file_count=stats.files,
            total_bytes=stats.total_bytes,
            ref=source.ref,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "repo"


def _git(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", **(env or {})}
    return subprocess.run(
        ["git", *_GIT_SAFE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def _clone(url: str, dest: Path, settings: Settings, reporter: Reporter) -> None:
    """Clone with a watch on size and time, so a huge or hanging remote is cut off."""
    reporter.stage("clone", url)
    max_bytes = int(settings.max_repo_mb * MB) * 2  # history may be larger than the tree
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "GIT_LFS_SKIP_SMUDGE": "1"}
    proc = subprocess.Popen(
        ["git", *_GIT_SAFE, "clone", "--no-recurse-submodules", "--quiet", url, str(dest)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + settings.clone_timeout_s
    while proc.poll() is None:
        time.sleep(0.5)
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise SourceError(f"cloning {url} took longer than {settings.clone_timeout_s:.0f} s")
        if dest.exists() and tree_size(dest) > max_bytes:
            proc.kill()
            proc.wait()
            raise LimitExceededError(
                f"cloning {url} passed {max_bytes / MB:.0f} MB; the repository is over the size limit"
            )
    _out, err = proc.communicate()
    if proc.returncode != 0:
        msg = err.strip().splitlines()[-1] if err.strip() else f"git exited {proc.returncode}"
        if re.search(
            r"not found|does not exist|Could not read from remote|Repository not found|"
            r"does not appear to be a git repository|unable to access",
            err,
            re.I,
        ):
            raise SourceNotFoundError(f"cannot clone {url}: {msg}")
        raise SourceError(f"cannot clone {url}: {msg}")


def _checkout(repo_dir: Path, ref: str) -> None:
    probe = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo_dir)
    target = ref
    if probe.returncode != 0:
        remote = _git(["rev-parse", "--verify", "--quiet", f"origin/{ref}^{{commit}}"], cwd=repo_dir)
        if remote.returncode != 0:
            raise RefNotFoundError(f"ref {ref!r} does not exist in the repository")
        target = f"origin/{ref}"
    done = _git(["checkout", "--quiet", "--detach", target], cwd=repo_dir)
    if done.returncode != 0:
        raise RefNotFoundError(f"cannot check out {ref!r}: {done.stderr.strip()}")


def _fetch_local(source: SourceSpec, dest: Path, settings: Settings, reporter: Reporter) -> None:
    src = Path(source.location)
    if (src / ".git").exists():
        reporter.stage("clone", str(src))
        _clone(src.as_uri(), dest, settings, reporter)
        return
    if source.ref:
        raise RefNotFoundError(f"{src} is not a git repository, so it has no ref {source.ref!r}")
    reporter.stage("copy", str(src))
    # Checked before copying so a huge folder is refused without filling the disk.
    check_tree(src, limits_of(settings))
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    _commit_folder(dest, f"snapshot of {src.name}", force=False)


def _fetch_pypi(source: SourceSpec, dest: Path, settings: Settings, reporter: Reporter) -> str:
    reporter.stage("resolve", source.spec)
    fname, url, sha, version = pypi.find_sdist(settings.pypi_simple_url, source.location, source.version)
    reporter.stage("download", fname)
    archive = dest.parent / fname
    max_bytes = int(settings.max_repo_mb * MB)
    pypi.download(url, archive, sha, max_bytes)
    pypi.unpack_sdist(archive, dest, max_bytes)
    archive.unlink()
    # --force: an sdist may ship files its own .gitignore names (generated modules).
    _commit_folder(dest, f"{source.location} {version} (sdist {fname})", force=True)
    return source.location


def _commit_folder(path: Path, message: str, force: bool) -> None:
    add = ["add", "--all", *(["--force"] if force else []), "."]
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        add,
        ["commit", "--quiet", "--allow-empty", "--no-verify", "-m", message],
    ):
        res = _git(args, cwd=path, env=_COMMIT_ENV, timeout=300)
        if res.returncode != 0:
            raise SourceError(f"git {args[0]} failed in the snapshot: {res.stderr.strip()}")
    if not (path / ".git").exists():
        raise SourceNotFoundError(f"could not create a repository at {path}")
