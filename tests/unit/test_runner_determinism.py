"""The injected runners make Hypothesis property tests repeatable (forager_determinism.py).

Runs the real runner scripts on a small project whose property test records the examples it
is given: two runs through a runner see the same examples and leave no example database,
while plain pytest draws new ones each run (what made a task's recheck differ from its proof).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis._settings import _CI_VARS  # the variables by which Hypothesis detects CI

RUNNERS = Path(__file__).resolve().parents[2] / "forager" / "validate" / "runners"

PROPERTY_TEST = """
import json, os, unittest
from hypothesis import given, settings, strategies as st

settings.register_profile("project", max_examples=25)
settings.load_profile("project")


def _record(name, value):
    with open(os.environ["SEEN_FILE"], "a") as fh:
        fh.write(json.dumps([name, value]) + "\\n")


@given(st.integers())
def test_module_level(n):
    _record("module", n)


class Case(unittest.TestCase):
    @given(st.text(max_size=8))
    def test_method(self, s):
        _record("method", s)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_props.py").write_text(PROPERTY_TEST)
    return repo


def _run(repo: Path, command: list[str], n: int) -> list[list[list[object]]]:
    """The examples each of n runs drew, in order."""
    runs = []
    for k in range(n):
        seen = repo.parent / f"seen-{k}.jsonl"
        env = {
            **os.environ,
            "PYTHONPATH": str(RUNNERS),
            "SEEN_FILE": str(seen),
            "FORAGER_REPORT": str(repo.parent / f"report-{k}.jsonl"),
        }
        env.pop("HYPOTHESIS_PROFILE", None)
        # Under CI, Hypothesis loads its derandomized "ci" profile by itself (the project's
        # profile inherits it), which would hide what the runners do.
        for key in _CI_VARS:
            env.pop(key, None)
        done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        runs.append([json.loads(line) for line in seen.read_text().splitlines()])
    return runs


PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]


def test_pytest_plugin_repeats_the_examples(project: Path) -> None:
    first, second = _run(project, [*PYTEST, "-p", "forager_pytest_report"], 2)
    assert {name for name, _ in first} == {"module", "method"}
    assert first == second
    assert not (project / ".hypothesis" / "examples").exists()  # no example database to replay later


def test_unittest_runner_repeats_the_examples(project: Path) -> None:
    runner = [sys.executable, str(RUNNERS / "forager_unittest.py"), "tests"]
    first, second = _run(project, runner, 2)
    assert {name for name, _ in first} == {"method"}  # unittest collects only the TestCase
    assert first == second
    assert not (project / ".hypothesis" / "examples").exists()


def test_without_the_runners_hypothesis_draws_anew(project: Path) -> None:
    # What the plugin changes: plain pytest runs see different examples.
    first, second = _run(project, PYTEST, 2)
    assert first != second
