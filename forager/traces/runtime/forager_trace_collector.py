"""Injected by Forager: function-level traces of repository code, cut out of each test's run.

Standard library only, Python 3.9+. Test runners call `configure()` once, then `begin(test_id)`
and `end(test_id)` around each test: pytest through `forager_trace_plugin`, the unittest
runner through `forager_trace_unittest`. Settings come as JSON in FORAGER_TRACE_CONFIG: out_dir,
root, trace (TraceConfig fields), max_per_function, max_traces, max_bytes, keep_unusable.

Every function defined under the root outside test files is a target: each of its calls
starts a trace (one Tracer for the whole session, installed around each test). What reaches the
output file is filtered here, so that a capped or duplicate trace costs no bytes downstream:

- unusable traces (truncated at CWM's caps, unfinished, tracer errors) are dropped unless
  `keep_unusable` is set, and a function with 3 of them is not traced again; an identical
  event stream of the same function is dropped once seen;
- at most `max_per_function` traces per function are kept; the Tracer may start a few more
  (`trace.max_traces_per_target`) to make up for dropped ones, then the function is retired;
- at most `max_traces` traces or `max_bytes` bytes in all: then tracing stops for the rest of
  the run (the suite still runs, untraced).

Output, in out_dir, per process (a project's addopts may run tests in xdist workers; the host
merges the files and applies the caps over all of them): `traces-PID.jsonl`, one JSON line per
kept trace, {"test", "digest", "trace"}, flushed after each test; `stats-PID.json`, rewritten
every second and at exit (a run cut off by its time limit keeps what it had). A process forked
during a test (multiprocessing) inherits the tracer but writes nothing.
"""

from __future__ import annotations

import ast
import atexit
import hashlib
import json
import linecache
import os
import sys
import time
from types import CodeType
from typing import IO, Any

import forager_determinism  # beside it on PYTHONPATH: forager/validate/runners/
import forager_tracer as ft

CONFIG_ENV = "FORAGER_TRACE_CONFIG"
_MAX_ERRORS = 20
_RETIRE_AFTER_UNUSABLE = 3
_STATS_EVERY_S = 1.0
# Folders whose code is not the repository's own (tests, tooling, build copies, virtualenvs).
_SKIP_DIRS = frozenset(
    {
        "tests",
        "test",
        "testing",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "build",
        ".eggs",
        "site-packages",
        "dist-packages",
    }
)
_TEST_FILES = frozenset({"conftest.py", "tests.py", "test.py", "setup.py", "noxfile.py", "fabfile.py"})


def is_repo_target_file(rel: str) -> bool:
    """Whether a file (relative to the root, "/"-separated) holds repository code, not tests."""
    parts = rel.split("/")
    name = parts[-1]
    if name in _TEST_FILES or name.startswith("test_") or name.endswith("_test.py"):
        return False
    return not any(part in _SKIP_DIRS for part in parts[:-1])


class _Qualnames:
    """Qualified names for Python < 3.11, whose code objects lack co_qualname: read from the
    source with ast, keyed by (first line, name) as co_firstlineno counts decorators."""

    def __init__(self) -> None:
        self._files: dict[str, dict[tuple[int, str], str]] = {}

    def __call__(self, code: CodeType) -> str:
        names = self._files.get(code.co_filename)
        if names is None:
            names = self._read(code.co_filename)
            self._files[code.co_filename] = names
        return names.get((code.co_firstlineno, code.co_name), code.co_name)

    @staticmethod
    def _read(filename: str) -> dict[tuple[int, str], str]:
        names: dict[tuple[int, str], str] = {}
        try:
            tree = ast.parse("".join(linecache.getlines(filename)))
        except (SyntaxError, ValueError):
            return names

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    names[(first, child.name)] = prefix + child.name
                    visit(child, prefix + child.name + ".<locals>.")
                elif isinstance(child, ast.ClassDef):
                    visit(child, prefix + child.name + ".")
                else:
                    visit(child, prefix)

        visit(tree, "")
        return names


class Collector:
    """One per process: the Tracer, the caps, and the output files."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.root = os.path.realpath(settings.get("root") or os.getcwd())
        self.pid = os.getpid()
        out_dir = str(settings["out_dir"])
        self.out_path = os.path.join(out_dir, f"traces-{self.pid}.jsonl")
        self.stats_path = os.path.join(out_dir, f"stats-{self.pid}.json")
        self.max_per_function = int(settings["max_per_function"])
        self.max_traces = int(settings["max_traces"])
        self.max_bytes = int(settings["max_bytes"])
        self.keep_unusable = bool(settings.get("keep_unusable", False))
        config = ft.TraceConfig(**settings.get("trace", {}))
        self.tracer = ft.Tracer([], [self.root], config, on_trace=self._on_trace, select=self._select)
        self._qualnames = _Qualnames()
        self._files: dict[str, bool] = {}
        self._kept: dict[str, int] = {}
        self._unusable: dict[str, int] = {}
        self._digests: set[str] = set()
        self._out: IO[str] | None = None
        self._stats_at = 0.0
        self.test: str | None = None
        self.installed = False
        self.stats: dict[str, Any] = {
            "python": ".".join(str(n) for n in sys.version_info[:3]),
            "backend": config.resolved_backend(),
            "tests": 0,
            "tests_traced": 0,
            "delivered": 0,
            "kept": 0,
            "bytes": 0,
            "capped": False,
            "dropped": {},
            "functions_capped": 0,
            "errors": [],
        }

    @classmethod
    def from_env(cls) -> Collector:
        return cls(json.loads(os.environ[CONFIG_ENV]))

    # -- which code is a target

    def _select(self, code: CodeType, module: str) -> str | None:
        if code.co_name.startswith("<"):  # lambdas, comprehensions: traced only as callees
            return None
        if not self._target_file(code.co_filename):
            return None
        qualname = getattr(code, "co_qualname", None) or self._qualnames(code)
        return f"{module}.{qualname}"

    def _target_file(self, filename: str) -> bool:
        known = self._files.get(filename)
        if known is None:
            real = os.path.realpath(filename)
            prefix = self.root.rstrip(os.sep) + os.sep
            known = real.startswith(prefix) and is_repo_target_file(real[len(prefix) :].replace(os.sep, "/"))
            self._files[filename] = known
        return known

    # -- traces as their calls end

    def _on_trace(self, trace: ft.Trace) -> None:
        if os.getpid() != self.pid:
            return  # a forked child: its parent's files are not its own
        stats = self.stats
        stats["delivered"] += 1
        if trace.status != "complete" and not self.keep_unusable:
            self._drop(trace.truncation or trace.status)
            # A function whose calls run past the caps costs up to the caps each time, for
            # nothing: after a few such calls it is not traced again.
            unusable = self._unusable[trace.target] = self._unusable.get(trace.target, 0) + 1
            if unusable >= _RETIRE_AFTER_UNUSABLE:
                self.tracer.retire(trace.target)
            return
        if not trace.events:
            self._drop("empty")
            return
        if stats["capped"]:
            self._drop("environment_cap")
            return
        target = trace.target
        if self._kept.get(target, 0) >= self.max_per_function:
            self._drop("function_cap")  # started before the function was retired (nesting)
            return
        # Addresses in default reprs differ between calls, so only truly equal runs collapse.
        digest = hashlib.sha256((target + "\0" + json.dumps(trace.events)).encode()).hexdigest()
        if digest in self._digests:
            self._drop("duplicate")
            return
        line = json.dumps({"test": self.test, "digest": digest, "trace": trace.to_dict()}) + "\n"
        if stats["kept"] >= self.max_traces or stats["bytes"] + len(line) > self.max_bytes:
            stats["capped"] = True
            self._drop("environment_cap")
            return
        self._digests.add(digest)
        self._write(line)
        stats["kept"] += 1
        stats["bytes"] += len(line)
        kept = self._kept[target] = self._kept.get(target, 0) + 1
        if kept >= self.max_per_function:
            self.tracer.retire(target)

    def _drop(self, reason: str) -> None:
        dropped = self.stats["dropped"]
        dropped[reason] = dropped.get(reason, 0) + 1

    def _write(self, line: str) -> None:
        if self._out is None:
            self._out = open(self.out_path, "a", encoding="utf-8")  # noqa: SIM115 - open all run
        self._out.write(line)

    # -- the hooks

    def configure(self) -> None:
        os.makedirs(os.path.dirname(self.out_path), exist_ok=True)
        for path in (self.out_path, self.stats_path):
            if os.path.exists(path):
                os.remove(path)
        self._write_stats()
        atexit.register(self.finish)  # the unittest runner has no session-end hook

    def finish(self) -> None:
        if os.getpid() != self.pid:
            return
        if self._out is not None:
            self._out.close()
            self._out = None
        self._write_stats()

    def begin(self, test_id: str) -> None:
        self.test = test_id
        self.stats["tests"] += 1
        if self.stats["capped"]:
            return
        try:
            self.tracer.install()
        except Exception as exc:  # e.g. no free sys.monitoring tool: the test runs untraced
            self._error(f"install: {type(exc).__name__}: {exc}")
            return
        self.installed = True
        self.stats["tests_traced"] += 1

    def end(self, test_id: str) -> None:
        if os.getpid() != self.pid:
            return
        if self.installed:
            self.installed = False
            try:
                self.tracer.uninstall()  # delivers the traces still open, as "incomplete"
            except Exception as exc:
                self._error(f"uninstall: {type(exc).__name__}: {exc}")
        self.test = None
        if self._out is not None:
            self._out.flush()
        # Stats are for progress and for the end: suites of 10k+ tests need not rewrite them
        # after every test.
        if time.monotonic() - self._stats_at >= _STATS_EVERY_S:
            self._write_stats()

    def _error(self, message: str) -> None:
        errors = self.stats["errors"]
        if len(errors) < _MAX_ERRORS:
            errors.append(message[:500])

    def _write_stats(self) -> None:
        stats = self.stats
        stats["functions_capped"] = len(self.tracer.skipped)
        for message in self.tracer.errors[: _MAX_ERRORS - len(stats["errors"])]:
            if message not in stats["errors"]:
                stats["errors"].append(message)
        self._stats_at = time.monotonic()
        tmp = self.stats_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(stats, fh)
        os.replace(tmp, self.stats_path)  # a reader never sees half a file


_collector: Collector | None = None


def _get() -> Collector:
    global _collector
    if _collector is None:
        _collector = Collector.from_env()
    return _collector


# The interface forager_unittest.py calls (as it does forager_coverage's).
def relax_deadline(test: Any) -> None:
    """Hypothesis fails an example slower than its deadline (200 ms by default), so tracing
    alone would fail property tests that pass untraced. `@given` binds its settings when it
    decorates, so they are replaced on the test function itself: the same settings (the
    project's profile, or the test's own), without the deadline."""
    try:
        forager_determinism.replace_settings(test, deadline=None)
    except Exception as exc:  # a Hypothesis too old or too new for this
        _get()._error(f"hypothesis deadline: {type(exc).__name__}: {exc}")


def configure() -> None:
    _get().configure()


def begin(test_id: str) -> None:
    _get().begin(test_id)


def end(test_id: str) -> None:
    _get().end(test_id)
