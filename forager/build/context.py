"""The build context: Dockerfile, dependency spec, CA files and the repository, as one tar.

Entries have fixed owners and times, so an unchanged source yields an identical context and
Docker's layer cache makes the rebuild near-instant.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from forager.build.plan import InstallPlan
from forager.config import Settings
from forager.errors import BuildError
from forager.templates import render


def render_dockerfile(plan: InstallPlan, name: str, commit: str, settings: Settings) -> str:
    return render(
        "env.Dockerfile.j2",
        name=name,
        commit=commit[:12],
        strategy=plan.strategy,
        base_image=plan.base_image,
        ca_files=bool(settings.ca_certs),
        system_packages=sorted(set(plan.system_packages)),
        pip_spec=settings.pip_spec,
        deps_requirements=plan.deps_requirements,
        install_steps=plan.install_steps(),
    )


def _normalize(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 946684800  # 2000-01-01: contents, not checkout times, decide the cache
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = _normalize(tarfile.TarInfo(name))
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def build_context(repo_dir: Path, dockerfile: str, plan: InstallPlan, settings: Settings) -> IO[bytes]:
    """A seekable temp file holding the tar context (caller closes it)."""
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    with tarfile.open(fileobj=fh, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile.encode())
        if plan.deps_requirements:
            _add_bytes(tar, "forager/deps.txt", ("\n".join(plan.deps_requirements) + "\n").encode())
        for i, ca in enumerate(settings.ca_certs):
            try:
                data = Path(ca).read_bytes()
            except OSError as exc:
                raise BuildError(f"cannot read CA certificate {ca}: {exc}") from exc
            _add_bytes(tar, f"forager/ca/forager-{i}-{Path(ca).stem}.crt", data)
        _add_tree(tar, repo_dir, "repo")
    fh.seek(0)
    return fh


def _add_tree(tar: tarfile.TarFile, root: Path, arcroot: str) -> None:
    # Sorted walk for a stable order; symlinks go in as links, never followed.
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git" or Path(dirpath) != root)
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            arc = os.path.normpath(os.path.join(arcroot, rel_dir, name))
            tar.add(path, arcname=arc, recursive=False, filter=_normalize)
        for d in dirs:
            path = os.path.join(dirpath, d)
            if os.path.islink(path):
                arc = os.path.normpath(os.path.join(arcroot, rel_dir, d))
                tar.add(path, arcname=arc, recursive=False, filter=_normalize)
