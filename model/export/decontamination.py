"""Repositories excluded from the export: benchmark repositories and their forks or mirrors.

CWM removed SWE-bench's repositories and their forks from ForagerAgent data. A fork keeps the
repository's name under another owner, and a `pypi:` sdist of the same project carries the same
code, so by default an entry also matches any source whose repository *name* is the entry's.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from model.errors import ExportError
from model.export.repos import repo_ref

# The 12 repositories of SWE-bench (and SWE-bench Verified / Lite, which draw from them).
SWE_BENCH_REPOS: tuple[str, ...] = (
    "astropy/astropy",
    "django/django",
    "matplotlib/matplotlib",
    "mwaskom/seaborn",
    "pallets/flask",
    "psf/requests",
    "pydata/xarray",
    "pylint-dev/pylint",
    "pytest-dev/pytest",
    "scikit-learn/scikit-learn",
    "sphinx-doc/sphinx",
    "sympy/sympy",
)


def read_repo_list(path: Path) -> list[str]:
    """Entries of a list file: one source spec or `owner/name` per line; `#` comments."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExportError(f"cannot read the decontamination list {path}: {exc}") from exc
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    return [ln for ln in lines if ln]


class RepoMatcher:
    """Answers whether a source belongs to one of the listed repositories."""

    def __init__(self, entries: Iterable[str], match_forks: bool = True) -> None:
        refs = [repo_ref(e) for e in entries]
        self.keys = frozenset(r.key for r in refs)
        self.names = frozenset(r.name for r in refs) if match_forks else frozenset()
        self._cache: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def match(self, spec: str) -> str | None:
        """The reason a source is excluded (`key` or `name:…` that matched), or None."""
        if spec in self._cache:
            return self._cache[spec]
        ref = repo_ref(spec)
        hit = ref.key if ref.key in self.keys else (f"name:{ref.name}" if ref.name in self.names else None)
        self._cache[spec] = hit
        return hit
