"""Repository identity of a source spec, for splits, near-dedup and decontamination.

A repository is the source the code came from, with what varies between snapshots of the same
code removed: the version of a `pypi:` source, the `.git` suffix and the URL form of a git
remote (`git@host:o/n.git` and `https://host/o/n` are one repository). Two versions of one
package must land on the same side of the train/validation split, or validation leaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

_SCP_LIKE = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?P<path>\S+)$")
_PYPI_NAME = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical_name(name: str) -> str:
    """PEP 503 normalization: `Scikit_Learn` and `scikit-learn` are one name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, slots=True)
class RepoRef:
    """`key` identifies the repository; `name` is its last path component (or package name)."""

    key: str
    owner: str | None
    name: str


@lru_cache(maxsize=65536)
def repo_ref(spec: str) -> RepoRef:
    """The repository a source spec (or a decontamination-list entry) names.

    Accepts the store's canonical specs (`https://…`, `git@host:o/n.git`, `path:/abs`,
    `pypi:NAME==VER`) and the short `owner/name` form used by lists such as SWE-bench's.
    """
    text = spec.strip()
    if text.startswith("git+"):
        text = text[4:]
    if text.startswith("pypi:"):
        m = _PYPI_NAME.match(text[5:].strip())
        name = canonical_name(m["name"]) if m else canonical_name(text[5:])
        return RepoRef(key=f"pypi:{name}", owner=None, name=name)
    if text.startswith("path:"):
        path = text[5:].rstrip("/")
        return RepoRef(
            key=f"path:{path}", owner=None, name=canonical_name(_strip_git(path.rsplit("/", 1)[-1]))
        )
    host: str | None = None
    path = text
    scp = _SCP_LIKE.match(text)
    if scp:
        host, path = scp["host"], scp["path"]
    elif "://" in text:
        parts = urlsplit(text)
        host, path = parts.hostname, parts.path
    parts_ = [p for p in _strip_git(path.strip("/")).split("/") if p]
    if not parts_:
        return RepoRef(key=text.lower(), owner=None, name=text.lower())
    name = canonical_name(parts_[-1])
    owner = parts_[-2].lower() if len(parts_) >= 2 else None
    if host is None and "://" not in text and len(parts_) == 2:
        # `owner/name` with no host: a list entry; GitHub is what such lists mean.
        host = "github.com"
    location = "/".join(p.lower() for p in parts_)
    key = f"{host.lower()}/{location}" if host else location
    return RepoRef(key=key, owner=owner, name=name)


def _strip_git(path: str) -> str:
    return path[:-4] if path.endswith(".git") else path


def repo_key(spec: str) -> str:
    return repo_ref(spec).key
