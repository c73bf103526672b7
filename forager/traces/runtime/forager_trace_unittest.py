"""Runs Forager's unittest runner with tracing: `python forager_trace_unittest.py ARGS...`.

Stdlib only. `forager_unittest` (injected next to this file's folder, on PYTHONPATH) calls
`configure`/`begin`/`end` on its `_COVER` hook object around each test; the trace collector
offers the same three functions, so it takes that place without changing the runner.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    sys.path.insert(0, os.getcwd())  # what forager_unittest does when run as a script
    import forager_trace_collector
    import forager_unittest

    forager_unittest._COVER = forager_trace_collector
    return int(forager_unittest.main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
