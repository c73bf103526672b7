"""Runs the sample scenarios with each available tracer backend and prints their traces as JSON.

Stdlib only, so that any interpreter can run it: `python crosscheck.py`. The tests run it with
other Python versions to check that sys.monitoring (3.12+) and sys.settrace give the same
events, and how the events compare across versions.
"""

from __future__ import annotations

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(os.path.dirname(os.path.dirname(HERE)), "forager", "traces", "runtime")
sys.path[:0] = [RUNTIME, HERE]

import forager_tracer as ft  # noqa: E402
import samples as s  # noqa: E402

ROOTS = [HERE]


class _Call:
    """trace_call(fn, *args) with the given TraceConfig settings."""

    def __init__(self, fn, *args, **settings):
        self.fn, self.args, self.settings = fn, args, settings

    def untraced(self):
        try:
            return self.fn(*self.args)
        except Exception as exc:
            return exc

    def traced(self, backend):
        config = ft.TraceConfig(backend=backend, **self.settings)
        result, trace = ft.trace_call(self.fn, *self.args, roots=ROOTS, config=config)
        return result, [trace]


class _Hook:
    """Runs body() with a Tracer installed for the targets."""

    def __init__(self, targets, body, **settings):
        self.targets, self.body, self.settings = targets, body, settings

    def untraced(self):
        return self.body()

    def traced(self, backend):
        with ft.Tracer(self.targets, ROOTS, ft.TraceConfig(backend=backend, **self.settings)) as tracer:
            result = self.body()
        return result, tracer.traces


SCENARIOS = {
    "loop": _Call(s.loop, 3),
    "fact_step_in": _Call(s.fact, 4, step_in=True, max_depth=2),
    "fact_no_step_in": _Call(s.fact, 3),
    "fact_each_call": _Hook([s.fact], lambda: s.fact(3)),
    "caught": _Call(s.caught, 0),
    "uncaught": _Call(s.uncaught, 1),
    "calls_uncaught": _Call(s.calls_uncaught, 1, step_in=True),
    "sum_countdown": _Call(s.sum_countdown, 2, step_in=True),
    "sum_countdown_none": _Call(s.sum_countdown, 0, step_in=True),
    "countdown": _Hook(["samples.countdown"], lambda: list(s.countdown(2))),
    "closure": _Call(s.ADD_TWO, 5),
    "bad_repr": _Call(s.keeps_bad_repr),
    "huge_values": _Call(s.huge_values, 1000, max_repr=20),
    "odd_values": _Call(s.odd_values),
    "spawn": _Call(s.spawn, step_in=True),
    "same_values": _Call(s.same_values),
    "decorated": _Call(s.decorated, 3, step_in=True),
    "line_cap": _Call(s.long_loop, 100, max_line_events=5),
    "byte_cap": _Call(s.long_loop, 100, max_bytes=400),
    "one_line_loop": _Call(s.one_line_loop, 3),
    "squares": _Call(s.squares, 3),
    "squares_step_in": _Call(s.squares, 2, step_in=True),
    "by_key": _Call(s.by_key, [1, 3, 2], step_in=True),
    "deep": _Call(s.deep, 5, step_in=True, max_depth=2),
    "throws_in": _Call(s.throws_in, step_in=True),
    "stops_early": _Call(s.stops_early, step_in=True),
    "calls_reraises": _Call(s.calls_reraises, step_in=True),
    "run_async": _Call(s.run_async, 1, step_in=True),
    "uses_delegate": _Call(s.uses_delegate, step_in=True, max_depth=3),
}


def _plain(value):
    if isinstance(value, BaseException):
        return "raised " + repr(value)
    try:
        return repr(value)
    except Exception:
        return f"<no repr: {type(value).__name__}>"


def _normalize(text):
    # Thread idents and object addresses differ from run to run.
    text = re.sub(r"stopped \d+", "stopped <ident>", text)
    return re.sub(r" at 0x[0-9a-f]+", " at 0x?", text)


def run(backend):
    out = {}
    for name, scenario in SCENARIOS.items():
        result, traces = scenario.traced(backend)
        dicts = [trace.to_dict() for trace in traces]
        for trace in dicts:
            trace.pop("python")
            trace.pop("backend")
        out[name] = {
            "result": _plain(result),
            "untraced": _plain(scenario.untraced()),
            "traces": json.loads(_normalize(json.dumps(dicts))),
        }
    return out


def main():
    backends = ["settrace", "monitoring"] if sys.version_info >= (3, 12) else ["settrace"]
    report = {"python": list(sys.version_info[:3]), "runs": {backend: run(backend) for backend in backends}}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
