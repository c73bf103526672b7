"""Validation, naming and de-duplication of PEP 508 requirement strings."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# Extras / groups / tox envs with these (canonical) names hold what the test suite needs.
TEST_GROUP_NAMES = frozenset({"test", "tests", "testing", "dev", "develop", "development", "all-tests", "ci"})


def parse_requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def requirement_name(text: str) -> str | None:
    """Canonical distribution name of a requirement string, None when it does not parse."""
    req = parse_requirement(text)
    return canonicalize_name(req.name) if req else None


def valid_requirements(items: Iterable[object], where: str, hints: list[str]) -> list[str]:
    """Stripped requirement strings that parse; every dropped one leaves a hint."""
    if isinstance(items, str):  # TOML `requires = "x"`: iterating would yield characters
        hints.append(f"ignored {where}: expected a list of requirements, got a string")
        return []
    kept: list[str] = []
    for item in items:
        if not isinstance(item, str):
            hints.append(f"ignored non-string requirement {item!r} in {where}")
            continue
        text = item.strip()
        if not text:
            continue
        if parse_requirement(text) is None:
            hints.append(f"dropped unparsable requirement {text!r} from {where}")
            continue
        kept.append(text)
    return kept


def merge_requirements(*lists: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Concatenate requirement lists, keeping the first entry per (canonical name, marker).

    The marker is part of the key so that `numpy<2; python_version<'3.9'` and
    `numpy>=2; python_version>='3.9'` both survive. Names in `exclude` (the project itself)
    and unparsable strings are dropped.
    """
    excluded = {canonicalize_name(name) for name in exclude}
    seen: set[tuple[str, str]] = set()
    merged: list[str] = []
    for text in (item for items in lists for item in items):
        req = parse_requirement(text)
        if req is None:
            continue
        name = canonicalize_name(req.name)
        key = (name, str(req.marker) if req.marker else "")
        if name in excluded or key in seen:
            continue
        seen.add(key)
        merged.append(text)
    return merged


def is_test_group(name: str, requirements: Iterable[str]) -> bool:
    """An extra/group is for tests when its name says so or it pulls in pytest."""
    if canonicalize_name(name) in TEST_GROUP_NAMES:
        return True
    return any(requirement_name(text) == "pytest" for text in requirements)
