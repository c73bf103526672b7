"""The repair loop's strategies, on profiles and logs (no services)."""

from __future__ import annotations

from forager.config import Settings
from forager.envs.strategies import (
    DEFAULT_STRATEGIES,
    AttemptOutcome,
    RepairContext,
    base_plan,
    next_plan,
)
from forager.profile.models import RepoProfile


def _profile(**kw: object) -> RepoProfile:
    data: dict[str, object] = {
        "name": "demo",
        "installable": True,
        "build_backend": "setuptools",
        "packages": ["demo"],
        "dependencies": ["six"],
    }
    data.update(kw)
    return RepoProfile(**data)  # type: ignore[arg-type]


def _settings() -> Settings:
    return Settings(base_images={"3.11": "b:311", "3.13": "b:313"})


def test_base_plan_layers_static_deps_and_drops_self_and_dev_tools() -> None:
    prof = _profile(
        extras={"test": ["demo[extra]", "pytest", "ruff", "hypothesis"]},
        test_extras=["test"],
        test_requirements=["sphinx", "pytest-mock"],
    )
    plan = base_plan(prof, "3.11", _settings(), "layered", "")
    assert plan.deps_requirements == ["six", "pytest", "hypothesis", "pytest-mock"]
    assert plan.extras == [] and plan.install_mode == "editable"
    assert plan.install_steps() == ["pip install -q -e ."]


def test_self_referencing_extras_are_expanded() -> None:
    prof = _profile(
        name="attrs",
        dependencies=[],
        test_extras=["tests"],
        extras={
            "tests": ["attrs[tests-no-zope]", "zope.interface"],
            "tests-no-zope": ["hypothesis", "attrs[tests-mypy]; python_version >= '3.10'"],
            "tests-mypy": ["mypy", "pytest-mypy-plugins"],
        },
    )
    plan = base_plan(prof, "3.11", _settings(), "layered", "")
    assert plan.deps_requirements == ["hypothesis", "pytest-mypy-plugins", "zope.interface", "pytest"]


def test_safe_pytest_args_only() -> None:
    from forager.envs.strategies import sanitize_pytest_args

    assert sanitize_pytest_args(
        [
            "pytest",
            "testing",
            "--color=yes",
            "-x",
            "-n",
            "auto",
            "--cov=pkg",
            "-p",
            "no:randomly",
            "-k",
            "not slow",
            "--doctest-modules",
            "-pxdist",
            "--import-mode=importlib",
            "-W",
            "error",
        ]
    ) == [
        "-p",
        "no:randomly",
        "-k",
        "not slow",
        "--doctest-modules",
        "-pxdist",
        "--import-mode=importlib",
        "-W",
        "error",
    ]


def test_loop_walks_strategies_without_repeating_a_plan() -> None:
    ctx = RepairContext(
        profile=_profile(extras={"test": ["pytest"]}, test_extras=["test"]),
        settings=_settings(),
        pythons=["3.11", "3.13"],
    )
    plan = base_plan(ctx.profile, "3.11", ctx.settings, "layered", "")
    tried = {plan.fingerprint()}
    seen = [plan.strategy]
    while True:
        ctx.history.append(AttemptOutcome(plan, "build", "ERROR: No matching distribution found for six"))
        ctx.learn(ctx.last.log)
        nxt = next_plan(ctx, DEFAULT_STRATEGIES, tried)
        if nxt is None:
            break
        tried.add(nxt.fingerprint())
        seen.append(nxt.strategy)
        plan = nxt
    # Each Python version gets the install-mode strategies once; max_attempts bounds it in use.
    assert seen == [
        "layered",
        "resolve-from-project",
        "drop-extras",
        "non-editable",
        "other-python",
        "resolve-from-project",
        "drop-extras",
        "non-editable",
    ]
    assert plan.python == "3.13" and len(tried) == len(seen)


def test_log_fixes_come_first_and_accumulate() -> None:
    ctx = RepairContext(profile=_profile(), settings=_settings(), pythons=["3.11"])
    plan = base_plan(ctx.profile, "3.11", ctx.settings, "layered", "")
    ctx.history.append(AttemptOutcome(plan, "tests", "E       fixture 'mocker' not found"))
    ctx.learn(ctx.last.log)
    fixed = next_plan(ctx, DEFAULT_STRATEGIES, {plan.fingerprint()})
    assert fixed is not None and fixed.strategy == "log-fixes"
    assert fixed.extra_packages == ["pytest-mock"]
    assert "pytest-mock" in fixed.install_steps()[0]


def test_tests_failure_without_hints_ends_the_loop() -> None:
    ctx = RepairContext(profile=_profile(), settings=_settings(), pythons=["3.11", "3.13"])
    plan = base_plan(ctx.profile, "3.11", ctx.settings, "layered", "")
    ctx.history.append(AttemptOutcome(plan, "tests", "assert 1 == 2"))
    ctx.learn(ctx.last.log)
    assert next_plan(ctx, DEFAULT_STRATEGIES, {plan.fingerprint()}) is None


def test_nothing_collected_names_test_files_then_tries_unittest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test.py").write_text("import unittest\nclass T(unittest.TestCase):\n    pass\n")
    (tmp_path / "tests" / "helpers.py").write_text("X = 1\n")
    ctx = RepairContext(
        profile=_profile(test_paths=["tests"]), settings=_settings(), pythons=["3.11"], repo_dir=tmp_path
    )
    plan = base_plan(ctx.profile, "3.11", ctx.settings, "layered", "")
    ctx.history.append(AttemptOutcome(plan, "tests", "no tests ran in 0.01s"))
    ctx.collected = 0
    named = next_plan(ctx, DEFAULT_STRATEGIES, {plan.fingerprint()})
    assert named is not None and named.strategy == "collect-harder" and named.test_paths == ["tests/test.py"]
    ctx.history.append(AttemptOutcome(named, "tests", "no tests ran"))
    switched = next_plan(ctx, DEFAULT_STRATEGIES, {plan.fingerprint(), named.fingerprint()})
    assert switched is not None and switched.test_framework == "unittest"


def test_the_repositorys_own_modules_are_never_installed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tests").mkdir()
    ctx = RepairContext(profile=_profile(), settings=_settings(), pythons=["3.11"], repo_dir=tmp_path)
    hints = ctx.learn(
        "ModuleNotFoundError: No module named 'tests.settings'\nModuleNotFoundError: No module named 'django'"
    )
    assert hints.pip_packages == ["django"]


def test_old_pytest_api_steps_pytest_back() -> None:
    ctx = RepairContext(profile=_profile(), settings=_settings(), pythons=["3.11"])
    log = (
        "pluggy._manager.PluginValidationError: Plugin 'conftest.py' for hook 'pytest_collect_file'\n"
        "Argument(s) {'path'} are declared in the hookimpl but can not be found in the hookspec"
    )
    ctx.learn(log)
    assert ctx.learned.pip_packages == ["pytest<9"]
    ctx.learn(log)
    assert ctx.learned.pip_packages == ["pytest<8"]
