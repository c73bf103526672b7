"""Fetching an sdist from a PyPI-compatible index (PEP 691 JSON), without running its code.

`pip download` would build metadata, i.e. execute setup.py on the host; this module only
downloads and unpacks the archive.
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import InvalidVersion, Version
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from forager.errors import LimitExceededError, SourceError, SourceNotFoundError

ACCEPT = "application/vnd.pypi.simple.v1+json"


def _client() -> httpx.Client:
    # The system trust store (and SSL_CERT_FILE), not certifi: egress may re-sign TLS.
    return httpx.Client(verify=ssl.create_default_context(), timeout=60.0, follow_redirects=True)


class _Transient(Exception):
    pass


@retry(
    retry=retry_if_exception_type(_Transient),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.5, max=8),
    reraise=True,
)
def _get_json(client: httpx.Client, url: str) -> dict[str, object]:
    try:
        resp = client.get(url, headers={"Accept": ACCEPT})
    except httpx.TransportError as exc:
        raise _Transient(str(exc)) from exc
    if resp.status_code == 404:
        raise SourceNotFoundError(f"no project at {url}")
    if resp.status_code >= 500:
        raise _Transient(f"{url}: HTTP {resp.status_code}")
    if resp.status_code != 200:
        raise SourceError(f"{url}: HTTP {resp.status_code}")
    data: dict[str, object] = resp.json()
    return data


def find_sdist(index_url: str, name: str, version: str | None) -> tuple[str, str, str, str]:
    """Return (filename, url, sha256, version) of the sdist of name==version (newest if None)."""
    norm = canonicalize_name(name)
    url = f"{index_url.rstrip('/')}/{norm}/"
    try:
        with _client() as client:
            data = _get_json(client, url)
    except SourceNotFoundError:
        raise SourceNotFoundError(f"PyPI has no project named {name!r}") from None
    except _Transient as exc:
        raise SourceError(f"PyPI did not answer for {name!r}: {exc}") from exc
    sdists: dict[Version, tuple[str, str, str]] = {}
    files: list[dict[str, Any]] = data.get("files", [])  # type: ignore[assignment]
    for f in files:
        fname = f["filename"]
        if f.get("yanked") and version is None:
            continue
        try:
            fn_name, fn_version = parse_sdist_filename(fname)
        except (InvalidSdistFilename, InvalidVersion):
            continue
        if fn_name != norm:
            continue
        sha = f.get("hashes", {}).get("sha256", "")
        sdists[fn_version] = (fname, f["url"], sha)
    if not sdists:
        raise SourceNotFoundError(f"PyPI project {name!r} has no source distribution")
    if version is None:
        stable = [v for v in sdists if not v.is_prerelease] or list(sdists)
        chosen = max(stable)
    else:
        chosen = Version(version)
        if chosen not in sdists:
            raise SourceNotFoundError(f"PyPI project {name!r} has no sdist for version {version}")
    fname, furl, sha = sdists[chosen]
    return fname, furl, sha, str(chosen)


def download(url: str, dest: Path, sha256: str, max_bytes: int) -> None:
    digest = hashlib.sha256()
    size = 0
    with _client() as client, client.stream("GET", url) as resp:
        if resp.status_code != 200:
            raise SourceError(f"downloading {url}: HTTP {resp.status_code}")
        with dest.open("wb") as fh:
            for chunk in resp.iter_bytes(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise LimitExceededError(f"sdist {url} is over the size limit ({max_bytes >> 20} MB)")
                digest.update(chunk)
                fh.write(chunk)
    if sha256 and digest.hexdigest() != sha256:
        raise SourceError(f"sha256 mismatch for {url}")


def unpack_sdist(archive: Path, dest: Path, max_bytes: int) -> None:
    """Unpack into dest, dropping the single top-level folder; refuse path escapes and links out."""
    staging = dest.parent / (dest.name + ".unpack")
    staging.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            _unzip(archive, staging, max_bytes)
        else:
            with tarfile.open(archive) as tar:
                total = sum(m.size for m in tar.getmembers())
                if total > max_bytes:
                    raise LimitExceededError(f"sdist unpacks to {total >> 20} MB, over the limit")
                tar.extractall(staging, filter="data")  # refuses absolute paths, .., links out
        entries = list(staging.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        shutil.move(str(top), str(dest))
    except (tarfile.TarError, zipfile.BadZipFile) as exc:
        raise SourceError(f"cannot unpack {archive.name}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unzip(archive: Path, dest: Path, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        if sum(i.file_size for i in zf.infolist()) > max_bytes:
            raise LimitExceededError(f"sdist {archive.name} unpacks over the size limit")
        for info in zf.infolist():
            p = PurePosixPath(info.filename)
            if p.is_absolute() or ".." in p.parts:
                raise SourceError(f"sdist {archive.name} has an unsafe path {info.filename!r}")
        zf.extractall(dest)
