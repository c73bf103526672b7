"""Collecting traces from a real environment built from a corpus project (real Docker, real
PostgreSQL): outcomes unchanged, caps respected, stored traces render to CWM's format, and the
repository in the image untouched."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from forager.config import Settings, get_settings
from forager.envs.harvest import build_from_source
from forager.errors import NotFoundError
from forager.store.db import session_scope
from forager.store.environments import EnvironmentStore
from forager.store.models import TraceRow
from forager.traces import parse_trace
from forager.traces.collect import DEFAULT_CONFIG, CollectOptions, TraceReport, collect_traces
from forager.traces.render import START_MARKER, TRACE_CONTEXT_START
from forager.traces.store import render_row
from forager.validate.container_run import run_in_container
from tests.repos import CALC, write

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PER_FUNCTION = 4
PER_ENVIRONMENT = 30


class _Stages:
    def __init__(self) -> None:
        self.stages: list[str] = []
        self.lines: list[str] = []

    def stage(self, name: str, detail: str = "") -> None:
        self.stages.append(name)

    def log(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture(scope="module")
def env_id(settings: Settings) -> int:
    env = build_from_source("pypi:inflection==0.5.1", settings)
    assert env.status == "verified", env.reason
    return env.id


@pytest.fixture(scope="module")
def git_status_before(settings: Settings, env_id: int) -> str:
    return _git_status(settings, env_id)


@pytest.fixture(scope="module")
def collected(settings: Settings, env_id: int, git_status_before: str) -> tuple[TraceReport, _Stages]:
    stages = _Stages()
    config = replace(DEFAULT_CONFIG, max_traces_per_target=PER_FUNCTION)
    options = CollectOptions(max_traces=PER_ENVIRONMENT, measure_untraced=True)
    return collect_traces(env_id, settings, config=config, reporter=stages, options=options), stages


def _git_status(settings: Settings, env_id: int) -> str:
    image = EnvironmentStore(settings.db_url).get(env_id).image_tag
    assert image
    out = run_in_container(image, ["sh", "-c", "git status --porcelain; git rev-parse HEAD"], settings, 60)
    assert out.exit_code == 0, out.log_tail
    return out.log_tail


def _rows(settings: Settings, env_id: int) -> list[TraceRow]:
    with session_scope(settings.db_url) as s:
        return list(
            s.scalars(select(TraceRow).where(TraceRow.environment_id == env_id).order_by(TraceRow.id))
        )


def test_suite_outcomes_are_unchanged(
    settings: Settings, env_id: int, collected: tuple[TraceReport, _Stages]
) -> None:
    report, stages = collected
    baseline = EnvironmentStore(settings.db_url).test_results(env_id)
    assert report.outcome_changes == [] and report.outcomes_match
    assert report.tests_run == len(baseline) == report.tests_compared + sum(t.flaky for t in baseline)
    assert report.exit_code == 0 and not report.timed_out and report.tracer_errors == []
    assert report.backend == "settrace" and report.python and report.python.startswith("3.11")
    assert report.traced_seconds and report.untraced_seconds and report.slowdown
    assert stages.stages == ["untraced", "trace", "store", "done"]
    assert any(line.startswith("forager-trace:") or "passed" in line for line in stages.lines)


def test_caps_are_respected(settings: Settings, env_id: int, collected: tuple[TraceReport, _Stages]) -> None:
    report, _ = collected
    rows = _rows(settings, env_id)
    assert len(rows) == report.traces_collected == PER_ENVIRONMENT  # the suite has far more calls
    assert report.capped and report.tests_traced < report.tests_run
    assert report.dropped_by_reason.get("environment_cap", 0) >= 1
    per_function = Counter(r.function for r in rows)
    assert max(per_function.values()) <= PER_FUNCTION and report.functions == len(per_function)
    assert len({r.digest for r in rows}) == len(rows)
    assert report.bytes == sum(r.bytes for r in rows) == sum(len(r.trace) for r in rows)


def test_stored_traces_parse_and_render(
    settings: Settings, env_id: int, collected: tuple[TraceReport, _Stages]
) -> None:
    baseline = {t.test_id for t in EnvironmentStore(settings.db_url).test_results(env_id)}
    for row in _rows(settings, env_id):
        trace = parse_trace(row.trace)
        assert row.function == trace.target and row.function.startswith("inflection.")
        assert row.file == "inflection/__init__.py" and row.first_line == trace.entry.first_line
        assert row.status == trace.status == "complete" and row.outcome in ("return", "exception")
        assert (row.events, row.line_events) == (
            len(trace.events),
            trace.line_events,
        ) and row.line_events <= 10_000
        assert row.test_id in baseline
        text = render_row(row)
        assert text.startswith(TRACE_CONTEXT_START) and START_MARKER in text
        assert text.count("<|call_sep|>") >= 1 and text.endswith("<|frame_sep|>")
        for event in trace.events:
            if event.locals is not None:
                assert all(isinstance(v, str) for v in event.locals.values())


def test_repository_is_unchanged(
    settings: Settings, env_id: int, git_status_before: str, collected: tuple[TraceReport, _Stages]
) -> None:
    report, _ = collected
    assert report.repo_changes == []  # inside the traced container, after the run
    assert _git_status(settings, env_id) == git_status_before  # and the image itself


def test_selected_tests_replace_only_their_traces(
    settings: Settings, env_id: int, collected: tuple[TraceReport, _Stages]
) -> None:
    before = _rows(settings, env_id)
    test_id = before[0].test_id  # a test whose traces are stored: they are replaced
    config = replace(DEFAULT_CONFIG, max_traces_per_target=PER_FUNCTION)
    report = collect_traces(
        env_id, settings, tests=[test_id], config=config, options=CollectOptions(max_traces=1000)
    )
    assert report.tests_run == 1 and report.outcome_changes == []
    after = _rows(settings, env_id)
    kept = [r for r in before if r.test_id != test_id]
    assert [r.id for r in after if r.test_id != test_id] == [r.id for r in kept]
    new = [r for r in after if r.test_id == test_id]
    assert len(new) == report.traces_collected >= 1
    assert min(r.id for r in new) > max(r.id for r in before)
    # The other tests' traces count towards the per-function cap.
    per_function = Counter(r.function for r in after)
    assert max(per_function.values()) <= PER_FUNCTION


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("FORAGER_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("FORAGER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FORAGER_INSTANCE", settings.instance)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_show_and_list(
    cli: CliRunner, settings: Settings, env_id: int, collected: tuple[TraceReport, _Stages]
) -> None:
    from forager.cli.traces_cmd import app

    row = _rows(settings, env_id)[0]
    shown = cli.invoke(app, ["show", str(row.id), "--cwm"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip("\n") == render_row(row)
    as_json = cli.invoke(app, ["show", str(row.id), "--json"])
    assert json.loads(as_json.stdout) == json.loads(row.trace)
    events = cli.invoke(app, ["show", str(row.id)])
    assert events.exit_code == 0 and row.function in events.stdout and "call" in events.stdout
    listed = cli.invoke(app, ["list", str(env_id), "--limit", "5"])
    assert listed.exit_code == 0 and row.function in listed.stdout
    assert cli.invoke(app, ["show", "987654321"]).exit_code == 2


def test_cli_collect_selected_tests(
    cli: CliRunner, settings: Settings, env_id: int, collected: tuple[TraceReport, _Stages]
) -> None:
    from forager.cli.traces_cmd import app

    test_id = _rows(settings, env_id)[-1].test_id
    done = cli.invoke(app, ["collect", str(env_id), "--tests", test_id, "--max-per-function", "50", "--json"])
    assert done.exit_code == 0, done.output
    report = TraceReport.model_validate_json(done.stdout.strip().splitlines()[-1])
    assert report.tests_run == 1 and report.outcome_changes == [] and report.traces_collected >= 1
    assert {r.test_id for r in _rows(settings, env_id)} >= {test_id}


def test_unknown_environment(settings: Settings) -> None:
    with pytest.raises(NotFoundError):
        collect_traces(987654321, settings)


UNITTEST_TESTS = """
import unittest

from calcu import add, mul


class CalcTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mul(self):
        self.assertEqual(mul(2, 3), 6)

    def test_zero(self):
        self.assertEqual(mul(0, 3), 0)
"""


def test_unittest_environment(settings: Settings, tmp_path: Path) -> None:
    repo = write(
        tmp_path / "unittest_only",
        {
            "setup.py": 'from setuptools import setup\nsetup(name="calcu", version="0.1", py_modules=["calcu"])\n',
            "calcu.py": CALC,
            "tests/__init__.py": "",
            "tests/test_calcu.py": UNITTEST_TESTS,
        },
    )
    env = build_from_source(str(repo), settings)
    assert env.status == "verified" and env.test_command[1].endswith("forager_unittest.py"), env.reason
    report = collect_traces(env.id, settings)
    assert report.tests_run == 3 and report.outcome_changes == [] and report.repo_changes == []
    rows = _rows(settings, env.id)
    assert {(r.test_id, r.function) for r in rows} == {
        ("tests.test_calcu.CalcTest.test_add", "calcu.add"),
        ("tests.test_calcu.CalcTest.test_mul", "calcu.mul"),
        ("tests.test_calcu.CalcTest.test_zero", "calcu.mul"),
    }
    assert all(r.file == "calcu.py" and render_row(r).startswith(TRACE_CONTEXT_START) for r in rows)
