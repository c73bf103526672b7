"""requirements*.txt files: discovery, classification by name, and pip-style parsing."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from forager.profile.files import RepoFiles, inside_repo_path
from forager.profile.pep508 import parse_requirement

FileKind = Literal["runtime", "test", "ignored"]

# Name tokens that decide what a requirements file is for; "docs" wins over "test".
_IGNORED_TOKENS = frozenset(
    {
        "doc",
        "docs",
        "documentation",
        "sphinx",
        "lint",
        "linting",
        "typing",
        "mypy",
        "release",
        "publish",
        "style",
    }
)
_TEST_TOKENS = frozenset({"test", "tests", "testing", "dev", "develop", "development", "ci"})
_RUNTIME_TOKENS = frozenset(
    {"", "requirement", "requirements", "reqs", "base", "common", "core", "main", "prod", "production"}
    | {"runtime", "install", "default", "run", "py3", "txt"}
)
_REQUIREMENTS_NAME = re.compile(r"(?i)^(?:[\w.-]*[-_.])?requirements?(?:[-_.][\w.-]*)?\.txt$")
_REQUIREMENTS_DIRS = ("requirements", "reqs")
_COMMENT = re.compile(r"(^|\s)#.*$")
_PER_REQUIREMENT_OPTION = re.compile(r"\s+--[a-zA-Z][\w-]*(?:[=\s].*)?$")
_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s*=\s*|\s*)(\S+)$")
_EGG_FRAGMENT = re.compile(r"#egg=([A-Za-z0-9][\w.-]*)(\[[^\]]*\])?")
_LOCAL_EXTRAS = re.compile(r"^\./?\[([^\]]*)\]$")
_MAX_INCLUDE_DEPTH = 10


@dataclass
class RequirementFiles:
    """Requirements files at the conventional places, split by purpose."""

    runtime: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def classify_requirements_file(rel: str) -> FileKind:
    stem = rel.lower().removesuffix(".txt")
    tokens = set(re.split(r"[^a-z0-9]+", stem))
    if tokens & _IGNORED_TOKENS:
        return "ignored"
    if tokens & _TEST_TOKENS:
        return "test"
    return "runtime" if tokens <= _RUNTIME_TOKENS else "ignored"


_STRICT_TEST_TOKENS = frozenset({"test", "tests", "testing"})


def is_strict_test_name(name: str) -> bool:
    """`tests.txt`, `requirements-test.txt`, a `testing` group — not `dev` or `ci`, which
    usually also carry docs and lint tooling (pip-compiled dev files pull in Sphinx)."""
    return bool(set(re.split(r"[^a-z0-9]+", name.lower().removesuffix(".txt"))) & _STRICT_TEST_TOKENS)


def discover_requirement_files(files: RepoFiles) -> RequirementFiles:
    found = RequirementFiles()
    candidates = [name for name in files.listdir() if _REQUIREMENTS_NAME.match(name)]
    for folder in _REQUIREMENTS_DIRS:
        candidates += [f"{folder}/{name}" for name in files.listdir(folder) if name.endswith(".txt")]
    for rel in candidates:
        if files.is_file(rel):
            getattr(found, classify_requirements_file(rel)).append(rel)
    return found


@dataclass
class RequirementsContent:
    """Requirements of a file (includes flattened) and the extras of `-e .[extras]` lines."""

    requirements: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)


@dataclass
class _Reader:
    files: RepoFiles
    hints: list[str]
    skip: Collection[str]
    seen: set[str] = field(default_factory=set)
    extras: list[str] = field(default_factory=list)

    def read(self, rel: str, depth: int = 0) -> list[str]:
        if rel in self.seen or depth > _MAX_INCLUDE_DEPTH:
            return []
        self.seen.add(rel)
        text = self.files.read_text(rel)
        if text is None:
            self.hints.append(f"requirements file {rel} is missing or unreadable")
            return []
        found: list[str] = []
        for line in logical_lines(text):
            found += self._line(rel, line, depth)
        return found

    def _line(self, rel: str, line: str, depth: int) -> list[str]:
        if include := _INCLUDE.match(line):
            target = inside_repo_path(posixpath.dirname(rel), include.group(1))
            if target is None:
                self.hints.append(f"ignored include {include.group(1)!r} in {rel}: outside the repository")
                return []
            return [] if target in self.skip else self.read(target, depth + 1)
        if extras := local_extras(line.removeprefix("--editable").removeprefix("-e")):
            self.extras += extras
            return []
        requirement = requirement_from_line(line)
        if requirement is None and not line.startswith("-") and not is_local_reference(line):
            self.hints.append(f"dropped unparsable requirement {line!r} from {rel}")
        return [requirement] if requirement else []


def read_requirements(
    files: RepoFiles, rel: str, hints: list[str], *, skip: Collection[str] = ()
) -> list[str]:
    """Requirements of file `rel` with `-r` includes flattened, except includes listed in `skip`.

    Editables, local paths, constraints and pip options are left out: they are either the
    project itself or something only the original checkout layout could satisfy.
    """
    return read_requirements_file(files, rel, hints, skip=skip).requirements


def read_requirements_file(
    files: RepoFiles, rel: str, hints: list[str], *, skip: Collection[str] = ()
) -> RequirementsContent:
    """Like `read_requirements`, also collecting the extras of `-e .[x]` / `.[x]` lines."""
    reader = _Reader(files, hints, skip)
    requirements = reader.read(rel)
    return RequirementsContent(requirements, list(dict.fromkeys(reader.extras)))


def local_extras(arg: str) -> list[str]:
    """`.[test,dev]` -> ["test", "dev"]; anything else -> []."""
    match = _LOCAL_EXTRAS.match(arg.strip().strip("'\""))
    if match is None:
        return []
    return [name.strip() for name in match.group(1).split(",") if name.strip()]


def logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined and comments removed."""
    joined = re.sub(r"\s*\\\r?\n\s*", " ", text)
    lines: list[str] = []
    for raw in joined.splitlines():
        line = raw.strip() if "#egg=" in raw else _COMMENT.sub("", raw).strip()
        if line:
            lines.append(line)
    return lines


def requirement_from_line(line: str) -> str | None:
    """The PEP 508 requirement on one requirements-file line, None for options/paths/garbage."""
    line = line.strip()
    if not line or line.startswith("-"):
        return None
    line = _PER_REQUIREMENT_OPTION.sub("", line)  # --hash=..., --config-settings ...
    if "#egg=" in line:
        return _egg_requirement(line)
    if is_local_reference(line):
        return None
    return line if parse_requirement(line) else None


def is_local_reference(line: str) -> bool:
    """`.`, `./pkg`, `../x`, `file:` URLs and bare URLs point at files, not distributions."""
    if (
        "@" in line
        and "://" in line.split("@", 1)[1]
        and not line.split("@", 1)[1].strip().startswith("file:")
    ):
        return False
    if line.startswith(("file:", ".", "/", "~")) or "://" in line:
        return True
    return "/" in line or "\\" in line


def _egg_requirement(line: str) -> str | None:
    """`git+https://host/repo.git#egg=name` -> `name @ git+https://host/repo.git`."""
    match = _EGG_FRAGMENT.search(line)
    url = line.split("#", 1)[0].strip()
    if match is None or "://" not in url or url.startswith("file:"):
        return None
    requirement = f"{match.group(1)}{match.group(2) or ''} @ {url}"
    return requirement if parse_requirement(requirement) else None
