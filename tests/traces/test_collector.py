"""The injected collector on the host: a real pytest (or unittest) run of a small repository.

The runtime files run as they do in a container: from their own folder on PYTHONPATH, in a
subprocess of the repository's working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from forager.traces import parse_trace, render_trace
from forager.traces.collect import CollectOptions, TraceReport, _rows, merge_stats
from forager.traces.runtime.forager_tracer import TraceConfig
from forager.traces.store import Kept
from tests.repos import write

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "forager" / "traces" / "runtime"
RUNNERS = ROOT / "forager" / "validate" / "runners"

MOD = """
import functools


def helper(x):
    return x * 2


def total(xs):
    s = 0
    for x in xs:
        s += helper(x)
    return s


class Box:
    def __init__(self, v):
        self.v = v

    @functools.lru_cache(maxsize=None)
    def cached(self):
        return self.v

    def boom(self):
        raise ValueError(self.v)


def spin(n):
    i = 0
    while i < n:
        i += 1
    return i
"""

TESTS = """
import pytest
from pkg.mod import Box, helper, spin, total


def local_helper(v):
    return total(v)


@pytest.mark.parametrize("n", range(6))
def test_total(n):
    assert local_helper(list(range(n))) == n * (n - 1)


def test_box():
    with pytest.raises(ValueError):
        Box(3).boom()
    assert Box(4).cached() == 4


def test_spin():
    assert spin(3000) == 3000


def test_same_twice():
    assert helper(21) == 42
    assert helper(21) == 42


def test_fails():
    assert total([1]) == 3
"""

UNIT = """
import unittest

from pkg.mod import Box, total


class T(unittest.TestCase):
    def test_total(self):
        self.assertEqual(total([1, 2]), 6)

    def test_box(self):
        self.assertEqual(Box(2).cached(), 2)
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": MOD,
            "tests/__init__.py": "",
            "tests/conftest.py": "def fixture_helper():\n    return 1\n",
            "tests/test_mod.py": TESTS,
            "tests/test_unit.py": UNIT,
            "tests/test_spin.py": "from pkg.mod import spin\n\n\ndef test_many():\n    for n in range(5):\n        spin(100 + n)\n",
        },
    )


def _run(repo: Path, runner: list[str], keep: bool = False, **caps: Any) -> dict[str, Any]:
    """Run `runner` in the repository with the collector's settings; `keep` keeps the output
    folder's files of earlier runs (as other processes of one run would leave them)."""
    out = repo.parent
    traces_dir = out / "traces"
    settings = {
        "out_dir": str(traces_dir),
        "root": str(repo),
        "trace": {"max_traces_per_target": 3 * caps.get("max_per_function", 3), **caps.pop("trace", {})},
        "max_per_function": 3,
        "max_traces": 1000,
        "max_bytes": 10_000_000,
        **caps,
    }
    env = {
        **os.environ,
        "PYTHONPATH": f"{RUNNERS}{os.pathsep}{RUNTIME}",
        "FORAGER_REPORT": str(out / "report.jsonl"),
        "FORAGER_TRACE_CONFIG": json.dumps(settings),
    }
    (out / "report.jsonl").unlink(missing_ok=True)
    if traces_dir.exists() and not keep:
        shutil.rmtree(traces_dir)
    wrapper = [sys.executable, str(RUNTIME / "forager_trace_run.py"), str(out / "run.json"), "--"]
    done = subprocess.run([*wrapper, *runner], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    traces = [
        json.loads(line)
        for path in sorted(traces_dir.glob("traces-*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    outcomes = {}
    report = out / "report.jsonl"
    for line in report.read_text().splitlines() if report.exists() else []:
        rec = json.loads(line)
        outcomes[rec["id"]] = rec["outcome"]
    return {
        "stdout": done.stdout + done.stderr,
        "stats": merge_stats(traces_dir) if traces_dir.exists() else {},
        "run": json.loads((out / "run.json").read_text()),
        "traces": traces,
        "outcomes": outcomes,
    }


PYTEST = [sys.executable, "-m", "pytest", "-p", "forager_pytest_report", "-p", "no:cacheprovider", "-q"]
TRACED = [*PYTEST, "-p", "forager_trace_plugin"]


def test_traces_repository_functions_only_and_leave_outcomes_alone(repo: Path) -> None:
    plain = _run(repo, [*PYTEST, "tests/test_mod.py"])
    traced = _run(repo, [*TRACED, "tests/test_mod.py"])
    assert traced["outcomes"] == plain["outcomes"]
    assert traced["outcomes"]["tests/test_mod.py::test_fails"] == "failed"
    assert traced["run"]["exit_code"] == plain["run"]["exit_code"] == 1
    assert traced["run"]["repo_changes"] is None  # not a git repository: nothing to compare
    targets = {t["trace"]["target"] for t in traced["traces"]}
    # Test functions, their helpers and conftest are not targets; methods carry their class.
    assert targets == {
        "pkg.mod.helper",
        "pkg.mod.total",
        "pkg.mod.spin",
        "pkg.mod.Box.__init__",
        "pkg.mod.Box.boom",
        "pkg.mod.Box.cached",  # through lru_cache's C wrapper
    }
    by_test: dict[str, set[str]] = {}
    for record in traced["traces"]:
        trace = parse_trace(record["trace"])
        by_test.setdefault(record["test"], set()).add(trace.target)
        assert trace.status == "complete" and trace.events[0].kind == "call"
        assert render_trace(trace).startswith("<|trace_context_start|>")
    assert by_test["tests/test_mod.py::test_box"] == {
        "pkg.mod.Box.__init__",
        "pkg.mod.Box.boom",
        "pkg.mod.Box.cached",
    }
    boom = next(t["trace"] for t in traced["traces"] if t["trace"]["target"] == "pkg.mod.Box.boom")
    assert boom["outcome"] == "exception" and boom["events"][-1]["value"] == "ValueError(3)"


def test_caps_duplicates_and_truncation(repo: Path) -> None:
    result = _run(repo, [*TRACED, "tests/test_mod.py"], max_per_function=2, trace={"max_line_events": 500})
    stats, traces = result["stats"], result["traces"]
    per_function: dict[str, int] = {}
    for record in traces:
        name = record["trace"]["target"]
        per_function[name] = per_function.get(name, 0) + 1
    assert max(per_function.values()) == 2 and per_function["pkg.mod.helper"] == 2
    assert stats["kept"] == len(traces) and stats["bytes"] == sum(len(json.dumps(r)) + 1 for r in traces)
    # spin(3000) runs past 500 line events: recorded, then dropped as CWM drops such traces.
    assert stats["dropped"]["max_line_events"] == 1
    assert "pkg.mod.spin" not in per_function
    assert stats["functions_capped"] >= 1  # helper's later calls were not traced at all
    assert len({r["digest"] for r in traces}) == len(traces)


def test_functions_that_keep_running_past_the_caps_are_retired(repo: Path) -> None:
    result = _run(repo, [*TRACED, "tests/test_spin.py"], trace={"max_line_events": 50})
    assert result["traces"] == [] and result["outcomes"] == {"tests/test_spin.py::test_many": "passed"}
    assert result["stats"]["dropped"] == {"max_line_events": 3}  # the 4th and 5th calls: untraced
    assert result["stats"]["functions_capped"] == 1


def test_identical_calls_are_kept_once(repo: Path) -> None:
    result = _run(repo, [*TRACED, "tests/test_mod.py::test_same_twice"])
    assert [r["trace"]["target"] for r in result["traces"]] == ["pkg.mod.helper"]
    assert result["stats"]["dropped"] == {"duplicate": 1}


def test_the_environment_cap_stops_tracing(repo: Path) -> None:
    result = _run(repo, [*TRACED, "tests/test_mod.py"], max_traces=2)
    stats = result["stats"]
    assert len(result["traces"]) == 2 and stats["capped"]
    assert stats["tests_traced"] < stats["tests"] == len(result["outcomes"])
    assert stats["dropped"]["environment_cap"] >= 1


def test_unusable_traces_are_kept_when_asked(repo: Path) -> None:
    result = _run(
        repo, [*TRACED, "tests/test_mod.py::test_spin"], keep_unusable=True, trace={"max_line_events": 50}
    )
    (record,) = result["traces"]
    trace = parse_trace(record["trace"])
    assert (trace.status, trace.truncation, trace.line_events) == ("truncated", "max_line_events", 50)


def test_unittest_runner(repo: Path) -> None:
    runner = [
        sys.executable,
        str(RUNTIME / "forager_trace_unittest.py"),
        "--roots",
        "tests",
        "tests/test_unit.py",
    ]
    result = _run(repo, runner)
    assert result["outcomes"] == {
        "tests.test_unit.T.test_box": "passed",
        "tests.test_unit.T.test_total": "passed",
    }
    assert {(r["test"], r["trace"]["target"]) for r in result["traces"]} == {
        ("tests.test_unit.T.test_box", "pkg.mod.Box.__init__"),
        ("tests.test_unit.T.test_box", "pkg.mod.Box.cached"),
        ("tests.test_unit.T.test_total", "pkg.mod.total"),
        ("tests.test_unit.T.test_total", "pkg.mod.helper"),
    }


def test_repository_changes_are_those_of_the_run(repo: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "."], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    (repo / "pkg" / "__init__.py").write_text("# dirty before the run\n")
    (repo / "left.txt").write_text("gone after the run\n")
    script = "import pathlib; pathlib.Path('new.txt').write_text('x'); pathlib.Path('left.txt').unlink()"
    result = _run(repo, [sys.executable, "-c", script])
    assert result["run"]["repo_changes"] == ["?? new.txt", "restored left.txt"]
    assert _run(repo, [*TRACED, "tests/test_mod.py::test_box"])["run"]["repo_changes"] == []
    # A file already modified in the image and modified again is a change too.
    touch = "import pathlib; pathlib.Path('pkg/__init__.py').write_text('# again\\n')"
    assert _run(repo, [sys.executable, "-c", touch])["run"]["repo_changes"] == [" M pkg/__init__.py"]


NESTED = """
import functools


def deco(fn):
    return fn


class Outer:
    class Inner:
        @deco
        @functools.wraps(deco)
        def method(self):
            def local():
                return 1

            return local

    async def run(self):
        return 1


def top():
    class Local:
        def m(self):
            return 2

    return Local
"""


def _codes(code: Any) -> list[Any]:
    found = [code]
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            found += _codes(const)
    return found


def test_qualified_names_read_from_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before 3.11 code has no co_qualname: the collector reads it from the source, and gets
    what 3.11's co_qualname says."""
    monkeypatch.syspath_prepend(str(RUNTIME))
    monkeypatch.syspath_prepend(str(RUNNERS))  # on PYTHONPATH beside it, as in a container
    import forager_trace_collector as collector

    path = tmp_path / "nested.py"
    path.write_text(NESTED)
    code = compile(NESTED, str(path), "exec")
    functions = [c for c in _codes(code) if c.co_flags & 0x2]  # CO_NEWLOCALS: not class bodies
    assert len(functions) == 6
    names = collector._Qualnames()
    assert {c.co_qualname: names(c) for c in functions} == {c.co_qualname: c.co_qualname for c in functions}


def test_every_python_found_here(repo: Path) -> None:
    """The collector under every Python 3.9+ found here (as in test_backends), by the unittest
    runner (no pytest needed): before 3.11 methods still carry their class (read from the
    source), from 3.12 the sys.monitoring backend records."""
    found = [Path(sys.executable), *sorted(Path.home().glob(".pyenv/versions/3.*/bin/python3"))]
    versions: set[tuple[int, int]] = set()
    for exe in found:
        done = subprocess.run(
            [str(exe), "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
        )
        major, minor = (int(n) for n in done.stdout.split())
        if (major, minor) < (3, 9) or (major, minor) in versions:
            continue
        versions.add((major, minor))
        runner = [
            str(exe),
            str(RUNTIME / "forager_trace_unittest.py"),
            "--roots",
            "tests",
            "tests/test_unit.py",
        ]
        result = _run(repo, runner)
        assert result["stats"]["python"].startswith(f"{major}.{minor}.")
        assert result["stats"]["backend"] == ("monitoring" if minor >= 12 else "settrace")
        assert result["outcomes"] == {
            "tests.test_unit.T.test_box": "passed",
            "tests.test_unit.T.test_total": "passed",
        }
        assert {r["trace"]["target"] for r in result["traces"]} == {
            "pkg.mod.Box.__init__",
            "pkg.mod.Box.cached",
            "pkg.mod.total",
            "pkg.mod.helper",
        }, (major, minor)
        for record in result["traces"]:
            assert render_trace(parse_trace(record["trace"])).startswith("<|trace_context_start|>")


def test_the_host_applies_the_caps_over_all_processes(repo: Path) -> None:
    """Each test process (xdist workers, say) caps its own traces; the host caps them all."""
    first = _run(repo, [*TRACED, "tests/test_mod.py"], max_per_function=2)
    second = _run(repo, [*TRACED, "tests/test_mod.py::test_box", "tests/test_mod.py::test_spin"], keep=True)
    folder = repo.parent / "traces"
    assert len(list(folder.glob("traces-*.jsonl"))) == len(list(folder.glob("stats-*.json"))) == 2
    stats = merge_stats(folder)
    assert stats["tests"] == len(first["outcomes"]) + len(second["outcomes"])
    assert stats["kept"] == len(second["traces"]) > len(first["traces"])  # both files
    report = TraceReport(environment_id=1, image="x")
    dropped: Counter[str] = Counter()
    config = TraceConfig(max_traces_per_target=2)
    rows = list(_rows(folder, config, CollectOptions(), Kept(), report, dropped))
    per_function = Counter(r["function"] for r in rows)
    assert max(per_function.values()) == 2 and len({r["digest"] for r in rows}) == len(rows)
    # spin's trace is the same in both runs (test_box's differ: Box's repr has an address).
    assert dropped["duplicate"] == 1 and len(rows) + sum(dropped.values()) == stats["kept"]
    assert report.bytes == sum(r["bytes"] for r in rows) and report.functions == len(per_function)


def test_step_in_records_callees_down_to_the_depth_limit(repo: Path) -> None:
    result = _run(
        repo, [*TRACED, "tests/test_mod.py::test_total[2]"], trace={"step_in": True, "max_depth": 1}
    )
    traces = {r["trace"]["target"]: r["trace"] for r in result["traces"]}
    assert set(traces) == {"pkg.mod.total", "pkg.mod.helper"}  # helper still has traces of its own
    calls = [(e["depth"], e["locals"]) for e in traces["pkg.mod.total"]["events"] if e["kind"] == "call"]
    assert calls == [(0, {"xs": "[0, 1]"}), (1, {"x": "0"}), (1, {"x": "1"})]
    assert [f["name"] for f in traces["pkg.mod.total"]["functions"]] == ["total", "helper"]
    context = render_trace(parse_trace(traces["pkg.mod.total"]))
    assert context.index("def helper(x):") < context.index("def total(xs):  # << START_OF_TRACE")


HYPOTHESIS_CONFTEST = """
from datetime import timedelta

from hypothesis import settings

settings.register_profile("project", max_examples=7, deadline=timedelta(milliseconds=50))
settings.load_profile("project")
"""

HYPOTHESIS_TESTS = """
from hypothesis import given, settings, strategies as st

from pkg.mod import helper


@given(st.integers())
def test_profile(x):
    assert helper(x) == 2 * x
    current = settings.default
    print("PROFILE", current.max_examples, current.deadline)
    assert current.max_examples == 7
"""


def test_hypothesis_keeps_the_projects_profile_without_its_deadline(repo: Path) -> None:
    # Tracing slows examples past a deadline they meet untraced (dateutil's property tests).
    write(repo, {"tests/conftest.py": HYPOTHESIS_CONFTEST, "tests/test_prop.py": HYPOTHESIS_TESTS})
    plain = _run(repo, [*PYTEST, "-s", "tests/test_prop.py"])
    traced = _run(repo, [*TRACED, "-s", "tests/test_prop.py"])
    assert plain["outcomes"] == traced["outcomes"] == {"tests/test_prop.py::test_profile": "passed"}
    assert "PROFILE 7 0:00:00.050000" in plain["stdout"]
    assert "PROFILE 7 None" in traced["stdout"]
    assert "PROFILE 7 0:00:00.050000" not in traced["stdout"]
    assert not traced["stats"]["errors"]


HYPOTHESIS_UNIT = """
import unittest
from datetime import timedelta

from hypothesis import given, settings, strategies as st

from pkg.mod import helper


class P(unittest.TestCase):
    @settings(max_examples=5, deadline=timedelta(milliseconds=50))
    @given(st.integers())
    def test_own_settings(self, x):
        self.assertEqual(helper(x), 2 * x)
        print("OWN", settings.default.max_examples, settings.default.deadline)
"""


def test_hypothesis_deadline_under_the_unittest_runner(repo: Path) -> None:
    write(repo, {"tests/test_unit_prop.py": HYPOTHESIS_UNIT})
    runner = [
        sys.executable,
        str(RUNTIME / "forager_trace_unittest.py"),
        "--roots",
        "tests",
        "tests/test_unit_prop.py",
    ]
    result = _run(repo, runner)
    assert result["outcomes"] == {"tests.test_unit_prop.P.test_own_settings": "passed"}
    assert "OWN 5 None" in result["stdout"] and "0:00:00.050000" not in result["stdout"]
