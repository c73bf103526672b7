"""pytest plugin injected by Forager: which repository functions each test calls, and which
of their lines run. Stdlib only, Python 3.9+; loaded with `-p forager_coverage`.

On Python 3.12+ it uses sys.monitoring: a function's start is recorded once per test (the
event is disabled after it fires, and re-armed when the next test starts), so the cost is
near zero. Before 3.12 a global `sys.settrace` hook sees every call and traces lines only in
repository frames. Output: one JSON line per test, with the functions it called and the lines
that no earlier test of this process ran (the map needs only their union).
"""

import json
import os
import sys
import threading

_ROOT = os.path.realpath(os.environ.get("FORAGER_COVER_ROOT", os.getcwd())) + os.sep
_OUT = os.environ.get("FORAGER_COVER_OUT", "/tmp/forager-coverage.jsonl")
_EXCLUDE = ("site-packages", "dist-packages", "/.venv/", "/venv/", "/opt/forager/")
_TOOL_ID = 3  # sys.monitoring tool slot (0-5 are free for anyone; 3 is unlikely taken)

_current = {"functions": set(), "lines": set()}
_seen_lines = set()
_wanted = {}


def _is_repo_file(filename):
    known = _wanted.get(filename)
    if known is None:
        real = os.path.realpath(filename) if filename and not filename.startswith("<") else ""
        known = real.startswith(_ROOT) and not any(x in real for x in _EXCLUDE)
        _wanted[filename] = known
    return known


def _qualname(code):
    return getattr(code, "co_qualname", code.co_name)


_relative = {}


def _rel(filename):
    # Once per file, not per covered line: realpath costs syscalls, and a suite of 60k tests
    # (packaging's) calls this for every line of every test.
    rel = _relative.get(filename)
    if rel is None:
        rel = _relative[filename] = os.path.relpath(os.path.realpath(filename), _ROOT)
    return rel


# --- Python 3.12+: sys.monitoring -----------------------------------------------------
def _start_monitoring():
    mon = sys.monitoring
    mon.use_tool_id(_TOOL_ID, "forager-coverage")
    disable = mon.DISABLE

    def on_start(code, offset):
        if _is_repo_file(code.co_filename):
            _current["functions"].add((code.co_filename, code.co_firstlineno, _qualname(code)))
        return disable

    def on_line(code, line):
        if _is_repo_file(code.co_filename):
            _current["lines"].add((code.co_filename, line))
        return disable

    mon.register_callback(_TOOL_ID, mon.events.PY_START, on_start)
    mon.register_callback(_TOOL_ID, mon.events.LINE, on_line)
    mon.set_events(_TOOL_ID, mon.events.PY_START | mon.events.LINE)


# --- before 3.12: sys.settrace --------------------------------------------------------
def _local(frame, event, arg):
    if event == "line":
        _current["lines"].add((frame.f_code.co_filename, frame.f_lineno))
    return _local


def _global(frame, event, arg):
    code = frame.f_code
    if event == "call" and _is_repo_file(code.co_filename):
        _current["functions"].add((code.co_filename, code.co_firstlineno, _qualname(code)))
        _current["lines"].add((code.co_filename, frame.f_lineno))
        return _local
    return None


_MONITORING = hasattr(sys, "monitoring")


def configure():
    if os.path.exists(_OUT):
        os.remove(_OUT)
    if _MONITORING:
        _start_monitoring()


def begin(test_id):
    _current["functions"] = set()
    _current["lines"] = set()
    if _MONITORING:
        sys.monitoring.restart_events()
    else:
        threading.settrace(_global)
        sys.settrace(_global)


def end(test_id):
    if not _MONITORING:
        sys.settrace(None)
        threading.settrace(None)
    functions = sorted({(_rel(f), line, name) for f, line, name in _current["functions"]})
    # Lines only count as a union over the run: each is written by the first test that runs
    # it, which keeps the map small for suites of many tests over the same code.
    lines = {}
    for f, line in _current["lines"]:
        key = (f, line)
        if key not in _seen_lines:
            _seen_lines.add(key)
            lines.setdefault(_rel(f), set()).add(line)
    rec = {"test": test_id, "functions": functions, "lines": {k: sorted(v) for k, v in lines.items()}}
    with open(_OUT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")


# pytest hooks (the unittest runner calls begin/end itself when FORAGER_COVER_OUT is set)
def pytest_configure(config):
    configure()


def pytest_runtest_setup(item):
    begin(item.nodeid)


def pytest_runtest_teardown(item, nextitem):
    end(item.nodeid)
