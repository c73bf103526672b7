"""Validating an image: run its test suite (twice, to find flaky tests) and merge outcomes."""

from __future__ import annotations

import json
from collections.abc import Iterable

from forager.config import Settings
from forager.protocols import NullReporter, Reporter
from forager.validate.container_run import RUNNERS_DIR, run_in_container
from forager.validate.models import Baseline, Outcome, SuiteRun, TestOutcome

REPORT_PATH = "/tmp/forager-report.jsonl"
_SEVERITY: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def test_command(framework: str, paths: list[str], args: list[str], select: Iterable[str] = ()) -> list[str]:
    """The command that runs the suite (or the selected tests) with Forager's reporter."""
    selected = list(select)
    if framework == "unittest":
        return [
            "python",
            f"{RUNNERS_DIR}/forager_unittest.py",
            "--roots",
            ",".join(paths),
            *(selected or paths),
        ]
    return [
        "python",
        "-m",
        "pytest",
        "-p",
        "forager_pytest_report",
        "-p",
        "no:cacheprovider",
        "-q",
        "--color=no",
        "-rN",
        # One broken test module (say, a helper file missing from an sdist) must not stop
        # the rest of the suite from running.
        "--continue-on-collection-errors",
        *args,
        *(selected or paths),
    ]


def parse_report(data: bytes) -> list[TestOutcome]:
    """JSON lines from a runner; a test reported twice keeps its worst outcome."""
    found: dict[str, TestOutcome] = {}
    for raw in data.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(raw)
            new = TestOutcome(
                test_id=str(rec["id"]),
                outcome=rec["outcome"],
                duration_s=round(float(rec.get("duration", 0.0)), 4),
                message=rec.get("message"),
            )
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short when the run was killed
        old = found.get(new.test_id)
        if old is None or _SEVERITY[new.outcome] > _SEVERITY[old.outcome]:
            found[new.test_id] = new
    return list(found.values())


def run_suite(
    image: str,
    framework: str,
    paths: list[str],
    args: list[str],
    settings: Settings,
    select: Iterable[str] = (),
    timeout_s: float | None = None,
) -> SuiteRun:
    cmd = test_command(framework, paths, args, select)
    out = run_in_container(
        image,
        cmd,
        settings,
        timeout_s or settings.test_timeout_s,
        fetch=[REPORT_PATH],
        env={"FORAGER_REPORT": REPORT_PATH},
    )
    outcomes = parse_report(out.files.get(REPORT_PATH, b""))
    return SuiteRun(
        exit_code=out.exit_code,
        timed_out=out.timed_out,
        seconds=out.seconds,
        outcomes=outcomes,
        log_tail=out.log_tail,
    )


def merge_runs(runs: list[SuiteRun]) -> Baseline:
    """First run's outcome per test; flaky when any run disagrees (or misses the test)."""
    merged: dict[str, TestOutcome] = {}
    seen: dict[str, set[str]] = {}
    for run in runs:
        for t in run.outcomes:
            seen.setdefault(t.test_id, set()).add(t.outcome)
            merged.setdefault(t.test_id, t.model_copy())
    complete = [{o.test_id for o in r.outcomes} for r in runs if not r.timed_out]
    for tid, t in merged.items():
        missing_somewhere = len(complete) > 1 and any(tid not in ids for ids in complete)
        t.flaky = len(seen[tid]) > 1 or missing_somewhere
    return Baseline(
        tests=sorted(merged.values(), key=lambda t: t.test_id),
        runs=len(runs),
        seconds=round(sum(r.seconds for r in runs), 3),
        timed_out=any(r.timed_out for r in runs),
        log_tail=runs[-1].log_tail if runs else "",
    )


def validate_image(
    image: str,
    framework: str,
    paths: list[str],
    args: list[str],
    settings: Settings,
    reporter: Reporter | None = None,
) -> Baseline:
    reporter = reporter or NullReporter()
    runs: list[SuiteRun] = []
    for i in range(settings.test_runs):
        reporter.stage("test", f"run {i + 1}/{settings.test_runs}")
        run = run_suite(image, framework, paths, args, settings)
        runs.append(run)
        if not run.outcomes:
            break  # nothing collected: another run cannot find flakiness
    return merge_runs(runs)
