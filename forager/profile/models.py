"""What static analysis found out about a repository (the *profile*)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BuildBackend = Literal["setuptools", "poetry", "hatch", "flit", "pdm", "maturin", "other", "none"]
TestFramework = Literal["pytest", "unittest"]


class RepoProfile(BaseModel):
    """Everything the image builder needs to know, decided without running repository code.

    Dependency strings are PEP 508 requirement strings (`"attrs>=22"`, `"tomli; python_version<'3.11'"`).
    `None` for `dependencies` means "could not be determined statically" (e.g. a setup.py that
    computes install_requires): the builder then lets pip resolve them from the project itself.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="distribution name, or the folder name when none is declared")
    build_backend: BuildBackend = "none"
    installable: bool = Field(
        description="has pyproject.toml [build-system]/[project], setup.py or setup.cfg"
    )
    layout: Literal["src", "flat", "none"] = "flat"
    packages: list[str] = Field(default_factory=list, description="top-level import packages/modules found")
    requires_python: str | None = Field(default=None, description="PEP 440 specifier, e.g. '>=3.9'")
    python_versions: list[str] = Field(
        default_factory=list, description="'X.Y' versions named by classifiers / CI matrices"
    )
    dependencies: list[str] | None = Field(default=None, description="runtime requirements, None if dynamic")
    extras: dict[str, list[str]] = Field(default_factory=dict, description="optional-dependencies / extras")
    test_extras: list[str] = Field(default_factory=list, description="extras that look like test deps")
    dependency_groups: dict[str, list[str]] = Field(
        default_factory=dict, description="PEP 735 groups, poetry groups, pdm dev-dependencies"
    )
    test_requirements: list[str] = Field(
        default_factory=list, description="test deps from groups, tests_require, tox, nox, requirements files"
    )
    requirements_files: list[str] = Field(
        default_factory=list, description="runtime requirements*.txt paths, relative to the repo root"
    )
    test_requirements_files: list[str] = Field(
        default_factory=list, description="test/dev requirements files, relative to the repo root"
    )
    tox_deps: list[str] = Field(
        default_factory=list, description="deps of the tox testenv, unexpanded refs dropped"
    )
    build_requires: list[str] = Field(default_factory=list, description="[build-system].requires")
    test_framework: TestFramework = "pytest"
    test_paths: list[str] = Field(default_factory=list, description="folders/files holding tests")
    pytest_plugins: list[str] = Field(
        default_factory=list, description="distributions of pytest plugins the suite uses (pytest-mock, ...)"
    )
    pytest_args: list[str] = Field(default_factory=list, description="addopts-independent args from tox/CI")
    system_packages: list[str] = Field(default_factory=list, description="Debian packages hinted by CI files")
    hints: list[str] = Field(default_factory=list, description="human-readable notes on what was found where")
