"""Repositories that do not verify: failing tests, uninstallable projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from forager.config import Settings
from forager.envs.harvest import build_from_source
from forager.store.environments import EnvironmentStore
from tests.repos import CALC, write

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_failing_tests_are_not_verified(tmp_path: Path, settings: Settings) -> None:
    repo = write(
        tmp_path / "failing",
        {
            "setup.py": 'from setuptools import setup\nsetup(name="calc-fail", version="0.1", packages=["calc_f"])\n',
            "calc_f/__init__.py": CALC,
            "tests/test_calc.py": """
            from calc_f import add

            def test_wrong_1():
                assert add(1, 1) == 3

            def test_wrong_2():
                assert add(2, 2) == 5

            def test_right():
                assert add(1, 2) == 3
        """,
        },
    )
    summary = build_from_source(str(repo), settings)
    assert summary.status == "failed"
    assert summary.tests_passed == 1 and summary.tests_failed == 2
    assert summary.reason and "1 of 3 tests passed" in summary.reason
    assert summary.image_tag is None  # a failed environment keeps no image
    results = {r.test_id: r.outcome for r in EnvironmentStore(settings.db_url).test_results(summary.id)}
    assert results["tests/test_calc.py::test_wrong_1"] == "failed"
    assert results["tests/test_calc.py::test_right"] == "passed"


def test_uninstallable_project_records_every_attempt(tmp_path: Path, settings: Settings) -> None:
    repo = write(
        tmp_path / "broken",
        {
            "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "calc-broken"
            version = "0.1"
            dependencies = ["forager-no-such-package-zzz==9.9.9"]

            [project.optional-dependencies]
            test = ["pytest"]
        """,
            "calc_b/__init__.py": CALC,
            "tests/test_calc.py": "def test_x():\n    assert True\n",
        },
    )
    summary = build_from_source(str(repo), settings)
    assert summary.status == "failed"
    assert summary.attempts >= 3, summary.attempt_log
    assert all(a.status == "build_failed" for a in summary.attempt_log)
    strategies = [a.strategy for a in summary.attempt_log]
    assert strategies[0] == "layered" and len(set(strategies)) == len(strategies)
    assert "forager-no-such-package-zzz" in (summary.reason or "") or "build failed" in (summary.reason or "")
    env = EnvironmentStore(settings.db_url).get(summary.id)
    for attempt in env.attempts:
        assert attempt.dockerfile.startswith("# Forager environment image")
        assert "forager-no-such-package-zzz" in attempt.build_log  # the log is stored with each attempt
        assert attempt.finished_at is not None
