"""Base images built with no registry: debootstrap a Debian suite, `docker import` it.

Where a registry exists, a base is just an image reference (`python:3.12-slim`) in
`Settings.base_images`; nothing here is needed then.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from forager.config import Settings
from forager.dockerhost import get_docker, image_size
from forager.errors import ImageError
from forager.protocols import NullReporter, Reporter
from forager.templates import render


@dataclass(frozen=True)
class Suite:
    name: str
    python: str
    tag: str
    packages: tuple[str, ...]


def known_suites() -> dict[str, Suite]:
    data = tomllib.loads(resources.files("images").joinpath("base/suites.toml").read_text())
    packages = tuple(data.pop("defaults")["packages"])
    return {n: Suite(n, v["python"], v["tag"], tuple(v.get("packages", packages))) for n, v in data.items()}


def suite_for_tag(tag: str) -> Suite | None:
    return next((s for s in known_suites().values() if s.tag == tag), None)


# Trimmed from the root filesystem: package caches and docs the image never needs.
_PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")


def bootstrap_base(
    suite_name: str, settings: Settings, reporter: Reporter | None = None, force: bool = False
) -> str:
    """Build `forager/base:<suite>` and return its tag (no-op when it exists and not force)."""
    reporter = reporter or NullReporter()
    suites = known_suites()
    if suite_name not in suites:
        raise ImageError(f"unknown suite {suite_name!r}; known: {', '.join(sorted(suites))}")
    suite = suites[suite_name]
    if not force and image_size(suite.tag) is not None:
        reporter.stage("exists", suite.tag)
        return suite.tag
    if shutil.which("debootstrap") is None:
        raise ImageError(
            "debootstrap is not installed: run `scripts/services.sh docker` (installs it) as root"
        )
    client = get_docker()
    work = Path(tempfile.mkdtemp(prefix=f"forager-{suite_name}-", dir=_scratch_dir(settings)))
    rootfs = work / "rootfs"
    try:
        reporter.stage("debootstrap", f"{suite_name} ({len(suite.packages)} packages)")
        t0 = time.monotonic()
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(suite.packages)}",
            suite_name,
            str(rootfs),
            settings.debian_mirror,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise ImageError(f"debootstrap {suite_name} failed (exit {proc.returncode}):\n{tail}")
        for rel in _PRUNE:
            target = rootfs / rel
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir(parents=True)
        reporter.stage("import", f"debootstrap took {time.monotonic() - t0:.0f}s")
        tarball = work / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."], check=True)
        rootfs_tag = f"{suite.tag}-rootfs"
        repo, tag = rootfs_tag.rsplit(":", 1)
        # From a file on disk: the SDK then sends a Content-Length (its chunked stream
        # upload is rejected by some engines with "invalid byte in chunk length").
        client.api.import_image_from_file(str(tarball), repository=repo, tag=tag)
        reporter.stage("finish", suite.tag)
        dockerfile = render("base.Dockerfile.j2", rootfs=rootfs_tag, suite=suite_name, python=suite.python)
        _build_from_dockerfile(dockerfile, suite.tag)
        client.images.remove(rootfs_tag, noprune=True)
        return suite.tag
    except subprocess.TimeoutExpired as exc:
        raise ImageError(f"debootstrap {suite_name} timed out") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _scratch_dir(settings: Settings) -> Path:
    path = settings.data_dir / "scratch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _build_from_dockerfile(dockerfile: str, tag: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    try:
        get_docker().images.build(fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True)
    except Exception as exc:
        raise ImageError(f"finishing base image {tag} failed: {exc}") from exc
