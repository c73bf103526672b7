"""Source layout (src/ vs flat) and the top-level import packages a repository ships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from forager.profile.files import RepoFiles

# Folders/modules at the root that are never the project's importable code.
_NOT_PACKAGES = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "benchmark", "bench"}
    | {"scripts", "script", "tools", "tool", "ci", "build", "dist", "bin", "samples", "demo", "demos"}
)
_NOT_MODULES = frozenset(
    {"setup", "conftest", "noxfile", "fabfile", "tasks", "manage", "dodo", "versioneer", "runtests"}
    | {"run_tests", "conf", "hatch_build", "build_backend", "__init__", "__main__"}
)


@dataclass
class Layout:
    kind: Literal["src", "flat", "none"]
    packages: list[str]
    source_dir: str


def detect_layout(files: RepoFiles, declared_source_dir: str | None, declared_modules: list[str]) -> Layout:
    """`src` when a source folder (declared or `src/`) holds packages, else `flat`, else `none`."""
    for candidate in _source_dirs(files, declared_source_dir):
        packages = _packages_in(files, candidate, namespace_ok=True)
        if packages:
            return Layout("src", packages, candidate)
    flat = _packages_in(files, "", namespace_ok=False)
    flat += [m for m in declared_modules if m not in flat and _exists_at_root(files, m)]
    return Layout("flat", sorted(flat), "") if flat else Layout("none", [], "")


def _source_dirs(files: RepoFiles, declared: str | None) -> list[str]:
    candidates = [declared] if declared and declared not in {".", ""} else []
    candidates += [] if "src" in candidates else ["src"]
    return [c for c in candidates if files.is_dir(c)]


def _packages_in(files: RepoFiles, folder: str, *, namespace_ok: bool) -> list[str]:
    """Importable names in `folder`; namespace packages only count inside a source folder."""
    prefix = f"{folder}/" if folder else ""
    found: list[str] = []
    for name in files.listdir(folder):
        rel = prefix + name
        if name.endswith(".py") and files.is_file(rel):
            module = name.removesuffix(".py")
            if module.isidentifier() and (folder or _root_module(module)):
                found.append(module)
        elif name.isidentifier() and files.is_dir(rel) and (folder or name not in _NOT_PACKAGES):
            if files.is_file(f"{rel}/__init__.py") or (namespace_ok and _holds_python(files, rel)):
                found.append(name)
    return sorted(found)


def _root_module(module: str) -> bool:
    return module not in _NOT_MODULES and not module.startswith("test") and not module.endswith("_test")


def _holds_python(files: RepoFiles, folder: str) -> bool:
    return any(rel.startswith(folder + "/") and rel.endswith(".py") for rel in files.all_files())


def _exists_at_root(files: RepoFiles, module: str) -> bool:
    return files.is_file(f"{module}.py") or files.is_dir(module)
