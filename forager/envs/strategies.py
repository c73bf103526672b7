"""Repair strategies: each proposes the next install plan after a failed attempt.

The loop in `forager.envs.pipeline` only asks strategies, in order, for a plan it has not
tried yet; a new strategy (an LLM-driven one, say) is one more object in `DEFAULT_STRATEGIES`.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from forager.build.plan import InstallPlan
from forager.config import Settings
from forager.envs.log_hints import Hints, read_log
from forager.profile.models import RepoProfile

FailedStage = Literal["build", "tests"]


@dataclass
class AttemptOutcome:
    plan: InstallPlan
    stage: FailedStage
    log: str


@dataclass
class RepairContext:
    profile: RepoProfile
    settings: Settings
    pythons: list[str]  # candidate versions, best first
    repo_dir: Path | None = None
    history: list[AttemptOutcome] = field(default_factory=list)
    learned: Hints = field(default_factory=Hints)  # fixes found in all logs so far
    collected: int | None = None  # tests the last validation collected

    def own_names(self) -> set[str]:
        """Import names the repository provides itself: never to be installed from PyPI."""
        names = set(self.profile.packages)
        if self.repo_dir is not None:
            for entry in self.repo_dir.iterdir():
                if entry.is_dir() or entry.suffix == ".py":
                    names.add(entry.stem)
        return names

    @property
    def last(self) -> AttemptOutcome:
        return self.history[-1]

    def learn(self, log: str) -> Hints:
        new = read_log(log, self.own_names())
        for src, dst in (
            (new.system_packages, self.learned.system_packages),
            (new.pip_packages, self.learned.pip_packages),
            (new.build_modules, self.learned.build_modules),
        ):
            dst.extend(x for x in src if x not in dst)
        self.learned.python_mismatch = new.python_mismatch
        if new.older_pytest:
            self.learned.pin_older_pytest()
        return new


class Strategy(Protocol):
    name: str
    stages: tuple[FailedStage, ...]

    def propose(self, ctx: RepairContext) -> InstallPlan | None: ...


# Development tools that test suites do not import: linters, type checkers, docs and release
# tooling. Installing them costs image size (pyright alone is ~40 MB) and build time.
NOT_FOR_TESTS = frozenset(
    {
        "ruff",
        "black",
        "flake8",
        "pylint",
        "isort",
        "pyright",
        "ty",
        "pyrefly",
        "mypy",
        "pre-commit",
        "sphinx",
        "furo",
        "mkdocs",
        "mkdocs-material",
        "twine",
        "build",
        "tox",
        "nox",
        "codespell",
        "bandit",
        "towncrier",
        "bump2version",
        "bumpversion",
        "check-manifest",
        "pyroma",
        "doc8",
        "pydocstyle",
        "autopep8",
        "yapf",
        "blacken-docs",
        "interrogate",
        "commitizen",
        "ipython",
        "ipdb",
        "jupyter",
        "notebook",
    }
)


def _for_tests(name: str) -> bool:
    return name not in NOT_FOR_TESTS and not name.startswith(("sphinx", "mkdocs", "flake8-", "types-"))


def _req_name(req: str) -> str | None:
    try:
        return canonicalize_name(Requirement(req).name)
    except InvalidRequirement:
        return None


def _dedupe(reqs: list[str], exclude: AbstractSet[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for r in reqs:
        name = _req_name(r)
        if name is None or name in exclude or not _for_tests(name):
            continue
        key = r.replace(" ", "")
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


# pytest options a project's tox/CI command may carry that are safe for a baseline run.
# Everything else is dropped: output styling, stop-at-first-failure, coverage, parallel
# workers (they blur per-test timings and flakiness), positional paths (test_paths has them).
_SAFE_WITH_VALUE = (
    "-p",
    "-m",
    "-k",
    "-o",
    "-c",
    "--ignore",
    "--ignore-glob",
    "--deselect",
    "--rootdir",
    "--import-mode",
    "--confcutdir",
    "--override-ini",
    "--doctest-glob",
    "-W",
)
_SAFE_FLAGS = ("--doctest-modules", "--strict-markers", "--runxfail", "--doctest-continue-on-failure")


def sanitize_pytest_args(args: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if name in _SAFE_WITH_VALUE:
            if "=" in arg or (arg.startswith("-") and len(arg) > 2 and not arg.startswith("--")):
                out.append(arg)  # --opt=value, -pvalue
            elif i + 1 < len(args):
                out += [arg, args[i + 1]]
                i += 1
        elif arg in _SAFE_FLAGS:
            out.append(arg)
        elif arg.startswith(tuple(o for o in _SAFE_WITH_VALUE if len(o) == 2)) and len(arg) > 2:
            out.append(arg)  # -pno:cacheprovider, -kexpr
        i += 1
    return out


def test_tools(profile: RepoProfile) -> list[str]:
    tools = list(profile.pytest_plugins)
    if profile.test_framework == "pytest":
        tools.insert(0, "pytest")
    return tools


def expand_extras(profile: RepoProfile, names: list[str], seen: set[str] | None = None) -> list[str]:
    """The requirements of extras, following the project's references to its own extras
    (`attrs[tests-no-zope]` inside attrs' `tests` extra)."""
    seen = set() if seen is None else seen
    own = canonicalize_name(profile.name)
    out: list[str] = []
    for extra in names:
        if extra in seen:
            continue
        seen.add(extra)
        for dep in profile.extras.get(extra, []):
            try:
                req = Requirement(dep)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == own:
                out += expand_extras(profile, sorted(req.extras), seen)
            else:
                out.append(dep)
    return out


def base_plan(profile: RepoProfile, python: str, settings: Settings, strategy: str, why: str) -> InstallPlan:
    """Static dependencies in their own layer (test extras expanded and cleaned of dev tools),
    then the project installed editable on top."""
    own = {canonicalize_name(profile.name)}
    deps: list[str] = list(profile.dependencies or [])
    # Extras go in by their (filtered) requirements, not as `.[extra]`: an `all` extra would
    # otherwise drag linters and type checkers into the image through pip.
    deps += expand_extras(profile, [e for e in profile.test_extras if e in profile.extras])
    deps += profile.test_requirements + test_tools(profile)
    names = {_req_name(d) for d in deps}
    if profile.test_framework == "pytest" and "pytest" not in names:
        deps.append("pytest")
    return InstallPlan(
        strategy=strategy,
        why=why,
        python=python,
        base_image=settings.base_images[python],
        system_packages=list(profile.system_packages),
        deps_requirements=_dedupe(deps, own),
        install_mode="editable" if profile.installable else "none",
        test_framework=profile.test_framework,
        test_paths=list(profile.test_paths),
        test_args=sanitize_pytest_args(list(profile.pytest_args)),
    )


def _with_learned(plan: InstallPlan, ctx: RepairContext) -> InstallPlan:
    learned = ctx.learned
    update: dict[str, object] = {
        "system_packages": sorted(set(plan.system_packages) | set(learned.system_packages)),
        "extra_packages": plan.extra_packages
        + [p for p in learned.pip_packages if p not in plan.extra_packages],
    }
    if learned.build_modules:
        # An undeclared build-time import: install it first and build without isolation.
        update["deps_requirements"] = plan.deps_requirements + [
            m for m in ["setuptools", "wheel", *learned.build_modules] if m not in plan.deps_requirements
        ]
        update["pip_args"] = sorted(set(plan.pip_args) | {"--no-build-isolation"})
    return plan.model_copy(update=update)


class LogFixes:
    """Add what the last log says is missing: headers' packages, modules, pytest plugins."""

    name = "log-fixes"
    stages: tuple[FailedStage, ...] = ("build", "tests")

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        if ctx.learned.empty():
            return None
        return _with_learned(ctx.last.plan, ctx).model_copy(
            update={"strategy": self.name, "why": _describe(ctx.learned)}
        )


class ResolveFromProject:
    """Let pip resolve everything from the project itself (static analysis may be wrong)."""

    name = "resolve-from-project"
    stages: tuple[FailedStage, ...] = ("build",)

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        if not ctx.profile.installable:
            return None
        plan = base_plan(
            ctx.profile,
            ctx.last.plan.python,
            ctx.settings,
            self.name,
            "the dependency layer failed: install the project with its test extras in one step",
        )
        own = {canonicalize_name(ctx.profile.name)}
        extra = _dedupe(ctx.profile.test_requirements + test_tools(ctx.profile), own)
        extras = [e for e in ctx.profile.test_extras if e in ctx.profile.extras or not ctx.profile.extras]
        update = {"deps_requirements": [], "extra_packages": extra, "extras": extras}
        return _with_learned(plan.model_copy(update=update), ctx)


class NonEditable:
    """Some build backends cannot install editable: install the project normally."""

    name = "non-editable"
    stages: tuple[FailedStage, ...] = ("build",)

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        last = ctx.last.plan
        if last.install_mode != "editable":
            return None
        return last.model_copy(
            update={
                "strategy": self.name,
                "install_mode": "regular",
                "why": "editable install failed: install the project as a wheel",
            }
        )


class DropExtras:
    """An extra may name packages that cannot install here: go without extras."""

    name = "drop-extras"
    stages: tuple[FailedStage, ...] = ("build",)

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        last = ctx.last.plan
        if not last.extras:
            return None
        own = {canonicalize_name(ctx.profile.name)}
        deps = _dedupe(
            list(ctx.profile.dependencies or []) + ctx.profile.test_requirements + test_tools(ctx.profile),
            own,
        )
        return last.model_copy(
            update={
                "strategy": self.name,
                "extras": [],
                "deps_requirements": deps,
                "why": f"installing extras {last.extras} failed: try without them",
            }
        )


class ToxDeps:
    """Use the test dependencies that tox.ini declares."""

    name = "tox-deps"
    stages: tuple[FailedStage, ...] = ("build", "tests")

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        tox = ctx.profile.tox_deps
        if not tox:
            return None
        last = ctx.last.plan
        extra = last.extra_packages + [d for d in tox if d not in last.extra_packages]
        return last.model_copy(
            update={
                "strategy": self.name,
                "extra_packages": extra,
                "why": "install the deps of tox's testenv",
            }
        )


class OtherPython:
    """Switch to the next Python version that the project allows.

    Early in the list it acts only when the log points at the Python version; as the last
    resort (`only_on_mismatch=False`) it acts on any build failure.
    """

    name = "other-python"

    def __init__(self, only_on_mismatch: bool) -> None:
        self.only_on_mismatch = only_on_mismatch
        self.stages: tuple[FailedStage, ...] = ("build", "tests") if only_on_mismatch else ("build",)

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        if self.only_on_mismatch and not ctx.learned.python_mismatch:
            return None
        tried = {a.plan.python for a in ctx.history}
        for py in ctx.pythons:
            if py not in tried:
                plan = base_plan(ctx.profile, py, ctx.settings, self.name, f"try Python {py}")
                return _with_learned(plan, ctx)
        return None


_TEST_FILE = re.compile(r"(^|/)(tests?|testing)(/|$)|(^|/)test[^/]*\.py$|_tests?\.py$")
_HAS_TESTS = re.compile(r"^\s*def test|unittest\.TestCase|^class Test", re.M)


class CollectHarder:
    """Nothing was collected: name test files pytest's patterns miss, or run unittest instead."""

    name = "collect-harder"
    stages: tuple[FailedStage, ...] = ("tests",)

    def propose(self, ctx: RepairContext) -> InstallPlan | None:
        if ctx.collected != 0 or ctx.repo_dir is None:
            return None
        last = ctx.last.plan
        files = explicit_test_files(ctx.repo_dir, last.test_paths)
        if last.test_framework == "pytest" and files and files != last.test_paths:
            return last.model_copy(
                update={
                    "strategy": self.name,
                    "test_paths": files,
                    "why": f"pytest collected nothing: name the test files {files[:5]}",
                }
            )
        if last.test_framework == "pytest":
            return last.model_copy(
                update={
                    "strategy": self.name,
                    "test_framework": "unittest",
                    "why": "pytest collected nothing: run the suite with unittest",
                }
            )
        return None


def explicit_test_files(repo: Path, paths: list[str], limit: int = 200) -> list[str]:
    """Python files under the test paths (or the repo) that hold tests, whatever their names."""
    roots = [repo / p for p in paths] or [repo]
    found: list[str] = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.rglob("*.py")) if root.is_dir() else []
        for f in candidates:
            rel = f.relative_to(repo).as_posix()
            if f.is_symlink() or "/." in "/" + rel or "site-packages" in rel:
                continue
            if (root != repo or _TEST_FILE.search(rel)) and f.name != "conftest.py":
                try:
                    if _HAS_TESTS.search(f.read_text(errors="replace")[:200_000]):
                        found.append(rel)
                except OSError:
                    continue
            if len(found) >= limit:
                return found
    return found


DEFAULT_STRATEGIES: list[Strategy] = [
    LogFixes(),
    CollectHarder(),
    OtherPython(only_on_mismatch=True),
    ResolveFromProject(),
    DropExtras(),
    NonEditable(),
    ToxDeps(),
    OtherPython(only_on_mismatch=False),
]


def _describe(h: Hints) -> str:
    parts = []
    if h.system_packages:
        parts.append(f"system packages {h.system_packages}")
    if h.pip_packages:
        parts.append(f"packages {h.pip_packages}")
    if h.build_modules:
        parts.append(f"build-time modules {h.build_modules} (no build isolation)")
    return "the log asks for " + ", ".join(parts)


def next_plan(ctx: RepairContext, strategies: list[Strategy], tried: set[str]) -> InstallPlan | None:
    for s in strategies:
        if ctx.last.stage not in s.stages:
            continue
        plan = s.propose(ctx)
        if plan is not None and plan.fingerprint() not in tried:
            return plan
    return None
