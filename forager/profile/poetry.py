"""Poetry's [tool.poetry] tables, translated into PEP 508 / PEP 440 terms."""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from forager.profile.findings import Metadata
from forager.profile.pep508 import parse_requirement
from forager.profile.versions import versions_from_classifiers

_OPERATOR_SPACE = re.compile(r"([<>=!~^]+)\s+")
_AND_SPLIT = re.compile(r"\s*,\s*|\s+(?=[<>=!~^\d])")


def poetry_constraint(text: str) -> str | None:
    """PEP 440 specifier for a poetry constraint ('' = any version, None = not expressible).

    `^1.2.3` -> `>=1.2.3,<2.0.0`, `~1.2` -> `>=1.2,<1.3`, `1.2` -> `==1.2`; `||` has no PEP 440
    equivalent.
    """
    text = text.strip()
    if text in ("", "*"):
        return ""
    if "|" in text:
        return None
    parts = [part for part in _AND_SPLIT.split(_OPERATOR_SPACE.sub(r"\1", text)) if part]
    converted = [_single_constraint(part) for part in parts]
    if any(item is None for item in converted):
        return None
    specifier = ",".join(item for item in converted if item)
    try:
        SpecifierSet(specifier)
    except InvalidSpecifier:
        return None
    return specifier


def _single_constraint(part: str) -> str | None:
    if part == "*":
        return ""
    if part.startswith("^"):
        return _bounded(part[1:], caret=True)
    if part.startswith("~") and not part.startswith("~="):
        return _bounded(part[1:], caret=False)
    if part.startswith("=") and not part.startswith("=="):
        return "=" + part
    if part[0].isdigit():
        return "==" + part
    return part


def _bounded(version: str, *, caret: bool) -> str | None:
    """Lower bound plus the poetry upper bound: caret bumps the first non-zero part."""
    try:
        release = list(Version(version).release)
    except InvalidVersion:
        return None
    given = len(version.split("."))
    release = (release + [0] * given)[:given]
    if caret:
        bump = next((i for i, part in enumerate(release) if part != 0), len(release) - 1)
    else:
        bump = 1 if len(release) >= 2 else 0
    upper = release[:bump] + [release[bump] + 1] + [0] * (len(release) - bump - 1)
    return f">={version},<{'.'.join(str(part) for part in upper)}"


def python_marker(constraint: str) -> str | None:
    """`python = "^3.8"` on a dependency -> `python_version >= "3.8" and python_version < "4.0"`."""
    specifier = poetry_constraint(constraint)
    if not specifier:
        return None
    # Split the string, not the SpecifierSet: a set's iteration order changes from run to run.
    specs = [Specifier(part) for part in specifier.split(",")]
    return " and ".join(f'python_version {spec.operator} "{spec.version}"' for spec in specs)


def poetry_requirements(name: str, spec: object, hints: list[str]) -> tuple[list[str], bool]:
    """Requirement strings for one poetry dependency entry and whether it is optional."""
    entries = spec if isinstance(spec, list) else [spec]
    requirements: list[str] = []
    optional = False
    for entry in entries:
        if isinstance(entry, dict):
            optional = optional or bool(entry.get("optional", False))
        text = _requirement(name, entry, hints)
        if text is not None:
            requirements.append(text)
    return requirements, optional


def _requirement(name: str, entry: object, hints: list[str]) -> str | None:
    if isinstance(entry, str):
        entry = {"version": entry}
    if not isinstance(entry, dict):
        hints.append(f"ignored poetry dependency {name}: unsupported value")
        return None
    if "path" in entry:
        hints.append(f"skipped poetry path dependency {name}")
        return None
    extras = entry.get("extras")
    extras_text = f"[{','.join(str(e) for e in extras)}]" if isinstance(extras, list) and extras else ""
    target = _direct_reference(entry)
    if target is None:
        constraint = poetry_constraint(str(entry.get("version", "*")))
        if constraint is None:
            hints.append(
                f"poetry constraint {entry.get('version')!r} of {name} has no PEP 440 form; unpinned"
            )
            constraint = ""
        target = constraint
    markers = _markers(entry)
    text = f"{name}{extras_text}{target}" + (f"; {markers}" if markers else "")
    if parse_requirement(text) is None:
        hints.append(f"dropped poetry dependency {name}: {text!r} does not parse")
        return None
    return text


def _direct_reference(entry: dict[str, Any]) -> str | None:
    if isinstance(entry.get("git"), str):
        ref = next((entry[key] for key in ("rev", "tag", "branch") if isinstance(entry.get(key), str)), None)
        url = entry["git"] if "://" in entry["git"] else f"ssh://{entry['git'].replace(':', '/', 1)}"
        return f" @ git+{url}" + (f"@{ref}" if ref else "")
    if isinstance(entry.get("url"), str):
        return f" @ {entry['url']}"
    return None


def _markers(entry: dict[str, Any]) -> str:
    markers: list[str] = []
    if isinstance(entry.get("python"), str) and (marker := python_marker(entry["python"])):
        markers.append(marker)
    if isinstance(entry.get("platform"), str):
        markers.append(f'sys_platform == "{entry["platform"]}"')
    if isinstance(entry.get("markers"), str) and entry["markers"].strip():
        markers.append(entry["markers"].strip())
    if len(markers) > 1:
        return " and ".join(f"({marker})" for marker in markers)
    return markers[0] if markers else ""


def _dependency_table(table: object, where: str, hints: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(non-optional requirements, optional requirements by canonical name) of a poetry table."""
    required: list[str] = []
    optional: dict[str, list[str]] = {}
    if not isinstance(table, dict):
        return required, optional
    for name, spec in table.items():
        if canonicalize_name(name) == "python":
            continue
        requirements, is_optional = poetry_requirements(name, spec, hints)
        if is_optional:
            optional[canonicalize_name(name)] = requirements
        else:
            required += requirements
    if optional:
        hints.append(f"{len(optional)} optional poetry dependencies only reachable through extras ({where})")
    return required, optional


def poetry_metadata(poetry: dict[str, Any]) -> Metadata:
    metadata = Metadata(source="pyproject [tool.poetry]")
    hints = metadata.hints
    if isinstance(poetry.get("name"), str):
        metadata.name = poetry["name"]
    dependencies = poetry.get("dependencies", {})
    python = dependencies.get("python") if isinstance(dependencies, dict) else None
    if isinstance(python, str):
        metadata.requires_python = poetry_constraint(python) or None
    required, optional = _dependency_table(dependencies, "[tool.poetry.dependencies]", hints)
    metadata.dependencies = required
    metadata.extras = _extras(poetry.get("extras"), optional)
    metadata.groups = poetry_groups(poetry, hints)
    metadata.python_versions = versions_from_classifiers(poetry.get("classifiers") or [])
    metadata.source_dir = _packages_from(poetry.get("packages"))
    return metadata


def poetry_groups(poetry: dict[str, Any], hints: list[str]) -> dict[str, list[str]]:
    """`dev-dependencies` (poetry < 1.2) as group "dev" plus every `group.<name>.dependencies`."""
    groups: dict[str, list[str]] = {}
    if "dev-dependencies" in poetry:
        groups["dev"] = _dependency_table(poetry["dev-dependencies"], "dev-dependencies", hints)[0]
    group_tables = poetry.get("group")
    if isinstance(group_tables, dict):
        for name, table in group_tables.items():
            if isinstance(table, dict):
                deps = _dependency_table(table.get("dependencies"), f"group {name}", hints)[0]
                groups[name] = groups.get(name, []) + deps
    return groups


def _extras(extras: object, optional: dict[str, list[str]]) -> dict[str, list[str]]:
    """Poetry extras list package names; map each to the optional dependency's requirement."""
    result: dict[str, list[str]] = {}
    if not isinstance(extras, dict):
        return result
    for extra, names in extras.items():
        if isinstance(names, list):
            result[extra] = [
                text
                for name in names
                if isinstance(name, str)
                for text in optional.get(canonicalize_name(name), [name])
            ]
    return result


def _packages_from(packages: object) -> str | None:
    """`packages = [{include = "x", from = "src"}]` names the source folder."""
    if isinstance(packages, list):
        for entry in packages:
            if isinstance(entry, dict) and isinstance(entry.get("from"), str):
                return str(entry["from"])
    return None
