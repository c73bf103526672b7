"""pytest plugin injected by Forager: one JSON line per test with its real node id.

Stdlib only; loaded with `-p forager_pytest_report`. Lines are appended as each test ends,
so a run cut off by its time limit still reports what finished.
"""

import json
import os

import forager_determinism

_OUT = os.environ.get("FORAGER_REPORT", "/tmp/forager-report.jsonl")
_state = {}


def _write(rec):
    with open(_OUT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")


def pytest_collectreport(report):
    if report.failed:
        _write(
            {
                "id": report.nodeid or "<collection>",
                "outcome": "error",
                "duration": 0.0,
                "phase": "collect",
                "message": str(report.longrepr)[-2000:],
            }
        )


def pytest_runtest_setup(item):
    forager_determinism.derandomize(getattr(item, "obj", None))


def pytest_runtest_logreport(report):
    rec = _state.setdefault(report.nodeid, {"id": report.nodeid, "outcome": "passed", "duration": 0.0})
    rec["duration"] += float(getattr(report, "duration", 0.0) or 0.0)
    if report.when == "call":
        if report.failed:
            rec["outcome"] = "failed"
        elif report.skipped:
            rec["outcome"] = "skipped"  # includes xfail
    elif report.failed:
        if rec["outcome"] == "passed" or report.when == "setup":
            rec["outcome"] = "error"
    elif report.skipped and report.when == "setup":
        rec["outcome"] = "skipped"
    if report.failed and "message" not in rec:
        rec["message"] = str(report.longrepr)[-2000:]
    if report.when == "teardown":
        _write(_state.pop(report.nodeid))


def pytest_sessionfinish(session, exitstatus):
    # Tests interrupted between phases still get a line.
    for rec in list(_state.values()):
        _write(rec)
    _state.clear()
