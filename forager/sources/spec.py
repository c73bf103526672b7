"""Parsing a user's source spec: a git URL, a local path, or `pypi:NAME==VERSION`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict

from forager.errors import InvalidSourceError, SourceNotFoundError

SourceKind = Literal["git", "local", "pypi"]

GIT_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"^(?P<user>[\w.-]+)@(?P<host>[\w.-]+):(?P<path>[^\s]+)$")
_PYPI = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(==(?P<version>[^\s=<>!~;]+))?$")
_REF = re.compile(r"^[\w./@+-]{1,200}$")


class SourceSpec(BaseModel):
    """A validated source. `spec` is its canonical text, unique per source in the store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind
    location: str  # URL, absolute path, or canonical package name
    version: str | None = None  # pypi only
    ref: str | None = None  # git branch/tag/sha

    @property
    def spec(self) -> str:
        if self.kind == "pypi":
            return f"pypi:{self.location}=={self.version}" if self.version else f"pypi:{self.location}"
        if self.kind == "local":
            return f"path:{self.location}"
        return self.location

    @property
    def display_name(self) -> str:
        if self.kind == "pypi":
            return self.location
        tail = self.location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return tail.removesuffix(".git") or "repo"


def parse_source(text: str, ref: str | None = None) -> SourceSpec:
    """Parse a spec; raise InvalidSourceError (or SourceNotFoundError for a missing path)."""
    text = text.strip()
    if not text:
        raise InvalidSourceError("empty source: give a git URL, a local path or pypi:NAME==VERSION")
    if ref is not None and not _REF.match(ref):
        raise InvalidSourceError(f"invalid ref {ref!r}: use a branch, tag or commit sha")
    if text.startswith("pypi:"):
        return _parse_pypi(text[5:], ref)
    if text.startswith("path:"):
        return _parse_path(text[5:], ref)
    if text.startswith("git+"):
        text = text[4:]
    if _SCP_LIKE.match(text):
        return SourceSpec(kind="git", location=text, ref=ref)
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in GIT_SCHEMES:
            raise InvalidSourceError(
                f"unsupported scheme {parts.scheme!r} in {text!r}; use one of {', '.join(GIT_SCHEMES)}"
            )
        if parts.scheme != "file" and not parts.hostname:
            raise InvalidSourceError(f"no host in URL {text!r}")
        if parts.scheme == "file":
            return SourceSpec(kind="git", location=text, ref=ref)
        return SourceSpec(kind="git", location=text.rstrip("/"), ref=ref)
    if text.startswith(("/", "./", "../", "~")) or Path(text).exists():
        return _parse_path(text, ref)
    if _PYPI.match(text) and "==" in text:  # corpus style: name==version
        return _parse_pypi(text, ref)
    raise InvalidSourceError(
        f"cannot read {text!r} as a source: give a git URL (https://, ssh://, git@host:path, file://), "
        "an existing local path, or pypi:NAME==VERSION"
    )


def _parse_pypi(text: str, ref: str | None) -> SourceSpec:
    if ref:
        raise InvalidSourceError("a pypi: source takes a version (pypi:NAME==VERSION), not a ref")
    m = _PYPI.match(text.strip())
    if not m:
        raise InvalidSourceError(f"invalid PyPI spec {text!r}: expected pypi:NAME==VERSION")
    try:
        name = canonicalize_name(m["name"], validate=True)
        version = str(Version(m["version"])) if m["version"] else None
    except (InvalidName, InvalidVersion) as exc:
        raise InvalidSourceError(f"invalid PyPI spec {text!r}: {exc}") from exc
    return SourceSpec(kind="pypi", location=name, version=version)


def _parse_path(text: str, ref: str | None) -> SourceSpec:
    path = Path(text).expanduser().resolve()
    if not path.exists():
        raise SourceNotFoundError(f"no such path: {path}")
    if not path.is_dir():
        raise InvalidSourceError(f"{path} is not a folder")
    return SourceSpec(kind="local", location=str(path), ref=ref)
