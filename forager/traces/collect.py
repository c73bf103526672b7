"""Function-level traces from a verified environment's test suite (CWM's repository traces).

The suite (or the selected tests) runs once in a fresh container of the environment's image,
with the trace runtime injected beside Forager's runners: nothing is written to the image or
the repository, and the container is removed afterwards. The injected collector traces every
call of the repository's own functions (not tests, not site-packages) and keeps what fits the
caps; this module checks that tracing changed no test outcome against the baseline, drops the
traces of any test whose outcome did change, and stores the rest in the `traces` table (the
traces of the tests that ran replace their earlier ones).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from forager.agent.tools import suite_of as agent_suite_of
from forager.config import Settings
from forager.protocols import NullReporter, Reporter
from forager.store.environments import EnvironmentStore
from forager.store.models import EnvironmentRow, TestResultRow
from forager.traces.container import TRACES_DIR, run_with_tracer
from forager.traces.errors import TraceError
from forager.traces.models import parse_trace
from forager.traces.render import render_trace
from forager.traces.runtime.forager_tracer import TraceConfig
from forager.traces.store import Kept, TraceStore
from forager.validate.models import TestOutcome
from forager.validate.suite import REPORT_PATH, parse_report, test_command

REPO_ROOT = "/repo"
RUN_OUT = "/tmp/forager-trace-run.json"
TRACES_OUT = "/tmp/forager-traces"  # traces-PID.jsonl and stats-PID.json per test process
CONFIG_ENV = "FORAGER_TRACE_CONFIG"  # read by runtime/forager_trace_collector.py

# CWM's caps per trace (TraceConfig's defaults); max_traces_per_target is the number of traces
# kept per function.
DEFAULT_CONFIG = TraceConfig(max_traces_per_target=20)


class CollectOptions(BaseModel):
    """Caps per environment and how the run is done (per-trace caps are the TraceConfig's)."""

    model_config = ConfigDict(extra="forbid")

    max_traces: int = Field(default=5000, ge=1, description="traces kept per environment")
    max_bytes: int = Field(default=256 * 1024**2, ge=1, description="trace JSON bytes per run")
    attempts_per_function: int = Field(
        default=3, ge=1, description="the tracer starts up to this many times the kept cap"
    )
    keep_unusable: bool = Field(default=False, description="also store truncated/unfinished traces")
    measure_untraced: bool = Field(default=False, description="run the suite untraced too, for the time")
    timeout_factor: float = Field(default=4.0, gt=0, description="times the settings' test timeout")


class OutcomeChange(BaseModel):
    test_id: str
    baseline: str
    traced: str  # an outcome, or "missing"


class TraceReport(BaseModel):
    environment_id: int
    image: str
    python: str | None = None
    backend: str | None = None
    tests_run: int = 0
    tests_traced: int = 0  # tests run with the tracer installed (all, unless a cap was reached)
    tests_compared: int = 0  # tests whose outcome was checked against the baseline
    outcome_changes: list[OutcomeChange] = Field(default_factory=list)
    traces_recorded: int = 0  # traces the tracer finished, before any filter
    traces_collected: int = 0  # stored
    functions: int = 0  # distinct functions among the stored traces
    bytes: int = 0  # trace JSON stored
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)
    functions_capped: int = 0  # functions whose later calls ran untraced (their cap was reached)
    capped: bool = False  # the environment cap stopped tracing early
    traced_seconds: float | None = None  # the suite's own time (in the container)
    untraced_seconds: float | None = None
    container_seconds: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    repo_changes: list[str] = Field(default_factory=list)  # files the traced run changed in /repo
    tracer_errors: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    log_tail: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slowdown(self) -> float | None:
        if not self.traced_seconds or not self.untraced_seconds:
            return None
        return round(self.traced_seconds / self.untraced_seconds, 3)

    @property
    def outcomes_match(self) -> bool:
        return not self.outcome_changes


def collect_traces(
    env_id: int,
    settings: Settings,
    tests: Sequence[str] | None = None,
    config: TraceConfig = DEFAULT_CONFIG,
    reporter: Reporter | None = None,
    options: CollectOptions | None = None,
) -> TraceReport:
    """Trace the suite (or `tests`) of a verified environment and store the traces."""
    start = time.monotonic()
    reporter = reporter or NullReporter()
    options = options or CollectOptions()
    envs = EnvironmentStore(settings.db_url)
    env = envs.get(env_id)
    if env.status != "verified" or not env.image_tag:
        raise TraceError(f"environment {env_id} is {env.status}: only verified environments are traced")
    image = env.image_tag
    selected = list(tests) if tests else None
    timeout = settings.test_timeout_s * options.timeout_factor
    report = TraceReport(environment_id=env_id, image=image)

    if options.measure_untraced:
        reporter.stage("untraced", "the same run without the tracer, for its time")
        report.untraced_seconds = _untraced_seconds(env, image, selected, settings, timeout, reporter)

    reporter.stage("trace", f"{suite_of(env)[0]} suite of {image}")
    runtime = _runtime_settings(config, options)
    with run_with_tracer(
        image,
        suite_command(env, selected, traced=True),
        settings,
        timeout,
        fetch=[REPORT_PATH, RUN_OUT, TRACES_OUT],
        env={"FORAGER_REPORT": REPORT_PATH, CONFIG_ENV: json.dumps(runtime)},
        on_log=reporter.log,
    ) as run:
        report.container_seconds = round(run.seconds, 3)
        report.exit_code, report.timed_out, report.log_tail = run.exit_code, run.timed_out, run.log_tail
        _read_run(report, _read_json(run.files.get(RUN_OUT)), merge_stats(run.files.get(TRACES_OUT)))
        report_file = run.files.get(REPORT_PATH)
        outcomes = parse_report(report_file.read_bytes() if report_file else b"")
        if not outcomes:
            raise TraceError(
                f"the traced run of environment {env_id} reported no tests:\n{run.log_tail[-2000:]}"
            )
        report.tests_run = len(outcomes)
        baseline = {row.test_id: row for row in envs.test_results(env_id)}
        report.outcome_changes, report.tests_compared = compare_outcomes(baseline, outcomes, selected)
        replacing = None if selected is None else {o.test_id for o in outcomes}
        store = TraceStore(settings.db_url)
        kept = store.kept(env_id, replacing)
        reporter.stage("store", f"{report.traces_recorded} traces recorded")
        dropped: Counter[str] = Counter(report.dropped_by_reason)
        rows = _rows(run.files.get(TRACES_OUT), config, options, kept, report, dropped)
        report.traces_collected = store.replace(env_id, rows, replacing)
        report.dropped_by_reason = dict(sorted(dropped.items()))
    report.seconds = round(time.monotonic() - start, 3)
    reporter.stage(
        "done",
        f"{report.traces_collected} traces of {report.functions} functions, {report.bytes} bytes; "
        f"{len(report.outcome_changes)} outcome changes",
    )
    return report


def time_untraced(env_id: int, settings: Settings, tests: Sequence[str] | None = None) -> float | None:
    """The suite's (or the tests') own seconds without the tracer, in the container settings
    collect_traces uses: the reference for its slowdown (and a warm-up for a benchmark)."""
    env = EnvironmentStore(settings.db_url).get(env_id)
    if not env.image_tag:
        raise TraceError(f"environment {env_id} has no image")
    timeout = settings.test_timeout_s * CollectOptions().timeout_factor
    selected = list(tests) if tests else None
    return _untraced_seconds(env, env.image_tag, selected, settings, timeout, NullReporter())


def suite_command(env: EnvironmentRow, tests: Sequence[str] | None, traced: bool) -> list[str]:
    """The validation's test command, with the trace collector hooked in when `traced`, run by
    the timing wrapper (which also records the repository files the run changed)."""
    framework, paths, args = suite_of(env)
    command = test_command(framework, paths, args, tests or ())
    if traced:
        if framework == "unittest":  # [python, .../forager_unittest.py, args...]
            command = [command[0], f"{TRACES_DIR}/forager_trace_unittest.py", *command[2:]]
        else:  # [python, -m, pytest, args...]
            command = [*command[:3], "-p", "forager_trace_plugin", *command[3:]]
    progress = ["--progress", TRACES_OUT] if traced else []
    return ["python", f"{TRACES_DIR}/forager_trace_run.py", RUN_OUT, *progress, "--", *command]


def suite_of(env: EnvironmentRow) -> tuple[str, list[str], list[str]]:
    spec = agent_suite_of(env)
    return spec.framework, spec.paths, spec.args


def compare_outcomes(
    baseline: Mapping[str, TestResultRow],
    outcomes: Sequence[TestOutcome],
    selected: Sequence[str] | None,
) -> tuple[list[OutcomeChange], int]:
    """Outcomes that differ from the baseline's, for tests that were not flaky there.

    A baseline test that did not run counts as changed ("missing") when the whole suite ran,
    or when it was selected by its exact id.
    """
    seen = {o.test_id: o.outcome for o in outcomes}
    expected = (
        [t for t in baseline if t not in seen]
        if selected is None
        else [t for t in selected if t in baseline and t not in seen]
    )
    changes: list[OutcomeChange] = []
    compared = 0
    for test_id, outcome in sorted(seen.items()):
        row = baseline.get(test_id)
        if row is None or row.flaky:
            continue
        compared += 1
        if outcome != row.outcome:
            changes.append(OutcomeChange(test_id=test_id, baseline=row.outcome, traced=outcome))
    for test_id in sorted(expected):
        row = baseline[test_id]
        if not row.flaky:
            compared += 1
            changes.append(OutcomeChange(test_id=test_id, baseline=row.outcome, traced="missing"))
    return changes, compared


def _untraced_seconds(
    env: EnvironmentRow,
    image: str,
    selected: list[str] | None,
    settings: Settings,
    timeout: float,
    reporter: Reporter,
) -> float | None:
    """The same run without the collector, in a container with the same settings."""
    with run_with_tracer(
        image,
        suite_command(env, selected, traced=False),
        settings,
        timeout,
        fetch=[RUN_OUT],
        env={"FORAGER_REPORT": REPORT_PATH},
        on_log=reporter.log,
    ) as plain:
        seconds = _read_json(plain.files.get(RUN_OUT)).get("seconds")
    return float(seconds) if seconds is not None else None


def _runtime_settings(config: TraceConfig, options: CollectOptions) -> dict[str, Any]:
    """FORAGER_TRACE_CONFIG for runtime/forager_trace_collector.py."""
    # Duplicates and unusable traces are dropped in the container: the Tracer may start a few
    # more traces per function than are kept, which also bounds what a function costs.
    attempts = config.max_traces_per_target * options.attempts_per_function
    return {
        "out_dir": TRACES_OUT,
        "root": REPO_ROOT,
        "trace": asdict(replace(config, max_traces_per_target=attempts)),
        "max_per_function": config.max_traces_per_target,
        "max_traces": options.max_traces,
        "max_bytes": options.max_bytes,
        "keep_unusable": options.keep_unusable,
    }


def merge_stats(folder: Path | None) -> dict[str, Any]:
    """The collector's stats summed over its processes (xdist workers each have their own)."""
    merged: dict[str, Any] = {"dropped": Counter(), "errors": [], "capped": False}
    for path in sorted(folder.glob("stats-*.json")) if folder else []:
        stats = _read_json(path)
        for key in ("python", "backend"):
            merged[key] = stats.get(key) or merged.get(key)
        for key in ("tests", "tests_traced", "delivered", "kept", "bytes", "functions_capped"):
            merged[key] = merged.get(key, 0) + int(stats.get(key, 0))
        merged["dropped"].update({str(k): int(v) for k, v in (stats.get("dropped") or {}).items()})
        merged["errors"] += [str(e) for e in stats.get("errors", [])]
        merged["capped"] = merged["capped"] or bool(stats.get("capped"))
    return merged


def _read_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_run(report: TraceReport, run: dict[str, Any], stats: dict[str, Any]) -> None:
    report.traced_seconds = run.get("seconds")
    report.repo_changes = list(run.get("repo_changes") or [])
    report.python = stats.get("python")
    report.backend = stats.get("backend")
    report.tests_traced = int(stats.get("tests_traced", 0))
    report.traces_recorded = int(stats.get("delivered", 0))
    report.functions_capped = int(stats.get("functions_capped", 0))
    report.capped = bool(stats.get("capped", False))
    report.tracer_errors = [str(e) for e in stats.get("errors", [])]
    report.dropped_by_reason = {str(k): int(v) for k, v in (stats.get("dropped") or {}).items()}


def _rows(
    folder: Path | None,
    config: TraceConfig,
    options: CollectOptions,
    kept: Kept,
    report: TraceReport,
    dropped: Counter[str],
) -> Iterator[dict[str, Any]]:
    """Store rows from the collector's JSON lines, re-checking the caps against what is kept.

    The collector applied the caps within each test process; here they count all processes
    and the environment's other stored traces (when only some tests ran), and a trace must
    parse and render.
    """
    changed = {c.test_id for c in report.outcome_changes}
    functions: set[str] = set()
    for raw in _lines(sorted(folder.glob("traces-*.jsonl")) if folder else []):
        try:
            record = json.loads(raw)
            data = record["trace"]
            trace = parse_trace(data)
            test_id, digest = str(record["test"] or ""), str(record["digest"])
        except (ValueError, KeyError, TypeError, TraceError):
            dropped["malformed"] += 1  # e.g. the last line of a run cut off by its time limit
            continue
        try:
            render_trace(trace, require_complete=not options.keep_unusable)
        except TraceError:
            dropped["unrenderable"] += 1  # no source for the context
            continue
        reason = _over_cap(trace.target, digest, test_id, changed, kept, config, options)
        if reason:
            dropped[reason] += 1
            continue
        text = json.dumps(data)
        kept.add(trace.target, digest)
        functions.add(trace.target)
        report.bytes += len(text)
        report.functions = len(functions)
        entry = trace.entry
        yield {
            "test_id": test_id,
            "function": trace.target,
            "file": _relative(trace.file),
            "first_line": entry.first_line,
            "status": trace.status,
            "outcome": trace.outcome,
            "events": len(trace.events),
            "line_events": trace.line_events,
            "bytes": len(text),
            "digest": digest,
            "trace": text,
        }


def _lines(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            yield from fh


def _over_cap(
    function: str,
    digest: str,
    test_id: str,
    changed: set[str],
    kept: Kept,
    config: TraceConfig,
    options: CollectOptions,
) -> str | None:
    if test_id in changed:
        return "outcome_changed"  # the tracer may have disturbed this test: not a faithful run
    if digest in kept.digests:
        return "duplicate"
    if kept.per_function[function] >= config.max_traces_per_target:
        return "function_cap"
    if kept.total >= options.max_traces:
        return "environment_cap"
    return None


def _relative(path: str) -> str:
    try:
        return str(PurePosixPath(path).relative_to(REPO_ROOT))
    except ValueError:
        return path
