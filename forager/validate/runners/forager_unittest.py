"""unittest runner injected by Forager: discovers tests and writes one JSON line per test.

Stdlib only. Usage: python forager_unittest.py [START_DIR ...]
"""

import json
import os
import sys
import time
import unittest

import forager_determinism

_OUT = os.environ.get("FORAGER_REPORT", "/tmp/forager-report.jsonl")


def _write(rec):
    with open(_OUT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")


_COVER = None
if os.environ.get("FORAGER_COVER_OUT"):
    import forager_coverage as _COVER


class _Result(unittest.TextTestResult):
    def startTest(self, test):
        if _COVER is not None:
            _COVER.begin(test.id())
        self._t0 = time.monotonic()
        self._outcome_rec = {"id": test.id(), "outcome": "passed"}
        forager_determinism.derandomize(getattr(test, getattr(test, "_testMethodName", ""), None))
        super().startTest(test)

    def _set(self, outcome, err=None):
        self._outcome_rec["outcome"] = outcome
        if err is not None:
            self._outcome_rec["message"] = str(err[1])[-2000:]

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set("failed", err)

    def addError(self, test, err):
        super().addError(test, err)
        if hasattr(self, "_outcome_rec") and self._outcome_rec.get("id") == test.id():
            self._set("error", err)
        else:  # class/module fixture errors arrive without startTest
            _write({"id": test.id(), "outcome": "error", "duration": 0.0, "message": str(err[1])[-2000:]})

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set("skipped")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set("skipped")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set("failed")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._set("failed", err)

    def stopTest(self, test):
        super().stopTest(test)
        if _COVER is not None:
            _COVER.end(test.id())
        rec = self._outcome_rec
        rec["duration"] = time.monotonic() - self._t0
        _write(rec)


class _NoMain:
    """Stands in for unittest.main: test modules that call it at import time (to be run as
    scripts) must not run or exit while being discovered; this runner runs their tests."""

    def __init__(self, *args, **kwargs):
        pass


def main(argv):
    unittest.main = _NoMain
    unittest.TestProgram = _NoMain
    if argv[:1] == ["--roots"]:
        # Test folders that are not packages import their modules as top-level names, so a
        # selected test id (test_x.Case.test_y) needs its folder on sys.path.
        for root in argv[1].split(","):
            if root and os.path.isdir(root) and not os.path.exists(os.path.join(root, "__init__.py")):
                sys.path.insert(0, os.path.abspath(root))
        argv = argv[2:]
    starts = argv or ["."]
    if _COVER is not None:
        _COVER.configure()
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for start in starts:
        if os.path.isfile(start):
            name = os.path.splitext(start)[0].replace(os.sep, ".")
            suite.addTests(loader.loadTestsFromName(name))
        elif os.path.isdir(start):
            top = "." if os.path.abspath(start) != os.path.abspath(".") else None
            if top and not os.path.exists(os.path.join(start, "__init__.py")):
                top = start  # a folder of test modules that is not a package
            suite.addTests(loader.discover(start, pattern="test*.py", top_level_dir=top))
        else:  # a test id: package.module.Class.method
            suite.addTests(loader.loadTestsFromName(start))
    for err in getattr(loader, "errors", []):
        _write({"id": "<collection>", "outcome": "error", "duration": 0.0, "message": err[-2000:]})
    runner = unittest.TextTestRunner(resultclass=_Result, verbosity=1, stream=sys.stderr)
    result = runner.run(suite)
    return 0 if result.wasSuccessful() and not getattr(loader, "errors", []) else 1


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    sys.exit(main(sys.argv[1:]))
