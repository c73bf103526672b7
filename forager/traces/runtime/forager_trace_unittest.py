"""Runs Forager's unittest runner with tracing: `python forager_trace_unittest.py ARGS...`.

Stdlib only. `forager_unittest` (injected next to this file's folder, on PYTHONPATH) calls
`configure`/`begin`/`end` on its `_COVER` hook object around each test; the trace collector
offers the same three functions, so it takes that place without changing the runner.
"""

from __future__ import annotations

import os
import sys
import unittest
from typing import Any


def main() -> int:
    sys.path.insert(0, os.getcwd())  # what forager_unittest does when run as a script
    import forager_trace_collector
    import forager_unittest

    forager_unittest._COVER = forager_trace_collector
    run = unittest.TestCase.run

    def run_relaxed(self: unittest.TestCase, result: Any = None) -> Any:
        forager_trace_collector.relax_deadline(getattr(self, self._testMethodName, None))
        return run(self, result)

    unittest.TestCase.run = run_relaxed  # type: ignore[method-assign]
    return int(forager_unittest.main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
