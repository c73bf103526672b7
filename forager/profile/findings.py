"""Intermediate results each file parser returns before `analyze` merges them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

# `None` = the file says nothing about the field; DYNAMIC = it does, but not statically.
DYNAMIC: Literal["dynamic"] = "dynamic"
Dependencies: TypeAlias = list[str] | Literal["dynamic"] | None
Extras: TypeAlias = dict[str, list[str]] | Literal["dynamic"] | None


@dataclass
class Metadata:
    """Project metadata declared by one packaging file (pyproject, setup.cfg or setup.py)."""

    source: str
    name: str | None = None
    requires_python: str | None = None
    dependencies: Dependencies = None
    extras: Extras = None
    groups: dict[str, list[str]] = field(default_factory=dict)
    test_requirements: list[str] = field(default_factory=list)
    test_extras: list[str] = field(default_factory=list)
    python_versions: list[str] = field(default_factory=list)
    source_dir: str | None = None
    modules: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


@dataclass
class PytestConfig:
    """The pytest configuration pytest itself would pick."""

    source: str
    testpaths: list[str] = field(default_factory=list)
    addopts: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    required_plugins: list[str] = field(default_factory=list)


@dataclass
class TestCommand:
    """A test invocation found in tox, nox or CI files."""

    __test__ = False  # not a pytest test class despite the name

    runner: Literal["pytest", "unittest"]
    args: list[str]
    source: str
