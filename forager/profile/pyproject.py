"""pyproject.toml: PEP 621 [project], build system, poetry, hatch, flit, pdm and PEP 735 groups."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from forager.profile.files import RepoFiles, inside_repo_path
from forager.profile.findings import DYNAMIC, Dependencies, Extras, Metadata
from forager.profile.models import BuildBackend
from forager.profile.pep508 import TEST_GROUP_NAMES, valid_requirements
from forager.profile.poetry import poetry_groups, poetry_metadata
from forager.profile.requirements import read_requirements
from forager.profile.versions import versions_from_classifiers

# Module part of `build-backend` -> RepoProfile.build_backend.
_BACKENDS: tuple[tuple[str, BuildBackend], ...] = (
    ("setuptools", "setuptools"),
    ("poetry", "poetry"),
    ("hatchling", "hatch"),
    ("flit", "flit"),
    ("pdm", "pdm"),
    ("maturin", "maturin"),
)
# Hatch environments whose dependencies serve the test suite.
_HATCH_TEST_ENVS = frozenset({"default", "test", "tests", "testing", "hatch-test", "dev"})


@dataclass
class PyprojectInfo:
    data: dict[str, Any]
    metadata: Metadata
    has_build_system: bool = False
    has_project: bool = False
    build_backend: BuildBackend | None = None
    build_requires: list[str] = field(default_factory=list)
    legacy_tox_ini: str | None = None


def read_pyproject(files: RepoFiles) -> PyprojectInfo | None:
    """Everything pyproject.toml declares; None without the file, hints-only when it is broken."""
    text = files.read_text("pyproject.toml")
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        metadata = Metadata(
            source="pyproject.toml", hints=[f"pyproject.toml does not parse ({exc}); ignored"]
        )
        return PyprojectInfo(data={}, metadata=metadata)
    return _interpret(files, data)


def _interpret(files: RepoFiles, data: dict[str, Any]) -> PyprojectInfo:
    build_system = _table(data, "build-system")
    project = data.get("project")
    metadata = _project_metadata(files, data) if isinstance(project, dict) else _tool_metadata(data)
    info = PyprojectInfo(
        data=data,
        metadata=metadata,
        has_build_system="build-system" in data,
        has_project=isinstance(project, dict),
        build_backend=_backend_kind(build_system.get("build-backend")) if build_system else None,
        legacy_tox_ini=_legacy_tox_ini(data),
    )
    info.build_requires = valid_requirements(
        build_system.get("requires", []), "[build-system]", metadata.hints
    )
    _add_groups(files, data, metadata)
    return info


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Nested table or {} when any level is missing or not a table."""
    current: object = data
    for key in keys:
        current = current.get(key) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def _backend_kind(backend: object) -> BuildBackend:
    if not isinstance(backend, str):
        return "setuptools"  # PEP 517: no build-backend means the setuptools legacy backend
    module = backend.split(":", 1)[0].strip()
    return next((kind for prefix, kind in _BACKENDS if module.startswith(prefix)), "other")


def _legacy_tox_ini(data: dict[str, Any]) -> str | None:
    value = _table(data, "tool", "tox").get("legacy_tox_ini")
    return value if isinstance(value, str) else None


# --- metadata ---------------------------------------------------------------------------------


def _project_metadata(files: RepoFiles, data: dict[str, Any]) -> Metadata:
    project = data["project"]
    metadata = Metadata(source="pyproject [project]")
    hints = metadata.hints
    dynamic = {str(item) for item in project.get("dynamic", []) if isinstance(item, str)}
    metadata.name = project["name"] if isinstance(project.get("name"), str) else None
    if isinstance(project.get("requires-python"), str):
        metadata.requires_python = project["requires-python"]
    metadata.dependencies = _pep621_dependencies(files, data, project, dynamic, hints)
    metadata.extras = _pep621_extras(files, data, project, dynamic, hints)
    metadata.python_versions = versions_from_classifiers(project.get("classifiers") or [])
    metadata.source_dir = _declared_source_dir(data)
    return metadata


def _pep621_dependencies(
    files: RepoFiles, data: dict[str, Any], project: dict[str, Any], dynamic: set[str], hints: list[str]
) -> Dependencies:
    if "dependencies" in project:
        return valid_requirements(_list(project["dependencies"]), "[project] dependencies", hints)
    if "dependencies" not in dynamic:
        return []
    poetry = _table(data, "tool", "poetry")
    if "dependencies" in poetry:  # poetry 2 keeps dynamic dependencies in its own table
        return poetry_metadata(poetry).dependencies
    from_files = _dynamic_files(data, "dependencies")
    if from_files is None:
        hints.append("[project] dependencies are dynamic and not read from a file")
        return DYNAMIC
    hints.append(f"dynamic dependencies read from {', '.join(from_files)}")
    return _read_files(files, from_files, hints)


def _pep621_extras(
    files: RepoFiles, data: dict[str, Any], project: dict[str, Any], dynamic: set[str], hints: list[str]
) -> Extras:
    if "optional-dependencies" in project:
        table = project["optional-dependencies"]
        if not isinstance(table, dict):
            return {}
        return {
            str(extra): valid_requirements(_list(deps), f"[project.optional-dependencies] {extra}", hints)
            for extra, deps in table.items()
        }
    if "optional-dependencies" not in dynamic:
        return {}
    per_extra = _dynamic_extra_files(data)
    if per_extra is None:
        return DYNAMIC
    return {extra: _read_files(files, paths, hints) for extra, paths in per_extra.items()}


def _dynamic_files(data: dict[str, Any], key: str) -> list[str] | None:
    """Files named by [tool.setuptools.dynamic] or hatch-requirements-txt for `dependencies`."""
    setuptools_entry = _table(data, "tool", "setuptools", "dynamic").get(key)
    if isinstance(setuptools_entry, dict) and "file" in setuptools_entry:
        return _string_list(setuptools_entry["file"])
    hatch_hook = _table(data, "tool", "hatch", "metadata", "hooks", "requirements_txt")
    if key == "dependencies" and "files" in hatch_hook:
        return _string_list(hatch_hook["files"])
    return None


def _dynamic_extra_files(data: dict[str, Any]) -> dict[str, list[str]] | None:
    setuptools_extras = _table(data, "tool", "setuptools", "dynamic", "optional-dependencies")
    hatch_extras = _table(
        data, "tool", "hatch", "metadata", "hooks", "requirements_txt", "optional-dependencies"
    )
    if setuptools_extras:
        return {
            extra: _string_list(entry.get("file"))
            for extra, entry in setuptools_extras.items()
            if isinstance(entry, dict)
        }
    if hatch_extras:
        return {extra: _string_list(paths) for extra, paths in hatch_extras.items()}
    return None


def _read_files(files: RepoFiles, paths: list[str], hints: list[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        rel = inside_repo_path("", path)
        if rel is None:
            hints.append(f"ignored requirements file {path!r}: outside the repository")
            continue
        found += read_requirements(files, rel, hints)
    return found


def _declared_source_dir(data: dict[str, Any]) -> str | None:
    """Source root from [tool.setuptools] package-dir / packages.find, hatch wheel packages."""
    setuptools = _table(data, "tool", "setuptools")
    package_dir = setuptools.get("package-dir")
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        return str(package_dir[""]).strip("/") or None
    where = _table(data, "tool", "setuptools", "packages", "find").get("where")
    if isinstance(where, list) and where and isinstance(where[0], str) and where[0].strip("./"):
        return str(where[0]).strip("/")
    packages = _table(data, "tool", "hatch", "build", "targets", "wheel").get("packages")
    if isinstance(packages, list) and packages and isinstance(packages[0], str) and "/" in packages[0]:
        return str(packages[0]).rsplit("/", 1)[0]
    return None


def _tool_metadata(data: dict[str, Any]) -> Metadata:
    """Metadata from tool tables when [project] is absent: poetry < 2 or flit < 3.2."""
    poetry = _table(data, "tool", "poetry")
    if poetry:
        return poetry_metadata(poetry)
    flit = _table(data, "tool", "flit", "metadata")
    if flit:
        return _flit_metadata(flit)
    return Metadata(source="pyproject.toml")


def _flit_metadata(flit: dict[str, Any]) -> Metadata:
    metadata = Metadata(source="pyproject [tool.flit.metadata]")
    hints = metadata.hints
    module = flit.get("module")
    name = flit.get("dist-name", module)
    metadata.name = name if isinstance(name, str) else None
    metadata.modules = [module] if isinstance(module, str) else []
    if isinstance(flit.get("requires-python"), str):
        metadata.requires_python = flit["requires-python"]
    metadata.dependencies = valid_requirements(_list(flit.get("requires", [])), "flit requires", hints)
    extras_table = flit.get("requires-extra", {})
    extras = {
        str(extra): valid_requirements(_list(deps), f"flit requires-extra {extra}", hints)
        for extra, deps in (extras_table.items() if isinstance(extras_table, dict) else [])
    }
    if "dev-requires" in flit:  # flit < 1 spelling of the "dev" extra
        extras["dev"] = valid_requirements(_list(flit["dev-requires"]), "flit dev-requires", hints)
    metadata.extras = extras
    metadata.python_versions = versions_from_classifiers(flit.get("classifiers") or [])
    return metadata


# --- dependency groups and tool environments ---------------------------------------------------


def _add_groups(files: RepoFiles, data: dict[str, Any], metadata: Metadata) -> None:
    """Merge poetry groups (also next to [project]), pdm dev-dependencies, PEP 735 and hatch envs."""
    hints = metadata.hints
    poetry = _table(data, "tool", "poetry")
    sources: list[dict[str, list[str]]] = []
    if poetry and metadata.source != "pyproject [tool.poetry]":
        sources.append(poetry_groups(poetry, hints))
    sources.append(_pdm_groups(data, hints))
    sources.append(dependency_groups(data, hints))
    for groups in sources:
        for name, deps in groups.items():
            metadata.groups[name] = metadata.groups.get(name, []) + deps
    requirements, features = _hatch_test_envs(data, hints)
    metadata.test_requirements += requirements
    metadata.test_extras += features


def _pdm_groups(data: dict[str, Any], hints: list[str]) -> dict[str, list[str]]:
    table = _table(data, "tool", "pdm", "dev-dependencies")
    return {
        str(name): valid_requirements(_list(deps), f"[tool.pdm.dev-dependencies] {name}", hints)
        for name, deps in table.items()
    }


def dependency_groups(data: dict[str, Any], hints: list[str]) -> dict[str, list[str]]:
    """PEP 735 [dependency-groups] with `{include-group = ...}` expanded (cycles cut)."""
    table = data.get("dependency-groups")
    if not isinstance(table, dict):
        return {}
    by_name = {canonicalize_name(str(name)): value for name, value in table.items()}

    def expand(name: str, stack: tuple[str, ...]) -> list[str]:
        key = canonicalize_name(name)
        if key in stack or key not in by_name:
            hints.append(f"[dependency-groups] include of {name!r} is unknown or cyclic")
            return []
        items: list[object] = []
        for entry in _list(by_name[key]):
            if isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                items += expand(entry["include-group"], (*stack, key))
            else:
                items.append(entry)
        return valid_requirements(items, f"[dependency-groups] {name}", hints)

    return {str(name): expand(str(name), ()) for name in table}


def _hatch_test_envs(data: dict[str, Any], hints: list[str]) -> tuple[list[str], list[str]]:
    """(dependencies, features) of hatch environments meant for running tests."""
    requirements: list[str] = []
    features: list[str] = []
    for name, env in _table(data, "tool", "hatch", "envs").items():
        if name not in _HATCH_TEST_ENVS and canonicalize_name(name) not in TEST_GROUP_NAMES:
            continue
        if not isinstance(env, dict):
            continue
        for key in ("dependencies", "extra-dependencies"):
            # Hatch context fields like "{root:uri}" are not PEP 508; keep only plain entries.
            plain = [item for item in _list(env.get(key, [])) if not (isinstance(item, str) and "{" in item)]
            requirements += valid_requirements(plain, f"[tool.hatch.envs.{name}] {key}", hints)
        features += _string_list(env.get("features", []))
    if requirements or features:
        hints.append("test dependencies from hatch environments")
    return requirements, features


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _string_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in _list(value) if isinstance(item, str)]
