"""Exact event streams of the runtime tracer on the host interpreter (sys.settrace before 3.12)."""

from __future__ import annotations

import json
import sys

import pytest

from forager.traces import parse_trace
from forager.traces.runtime import forager_tracer as ft
from forager.traces.runtime.forager_tracer import TraceConfig, Tracer, trace_call
from tests.traces import samples
from tests.traces.helpers import ROOTS, call, exc, first_line, line, ret

BACKEND = "monitoring" if sys.version_info >= (3, 12) else "settrace"


def test_loop():
    result, trace = trace_call(samples.loop, 3, roots=ROOTS)
    b = first_line(samples.loop)
    head, body, back, end = (
        "    for i in range(n):",
        "        total += i",
        "    for i in range(n):",
        "    return total",
    )
    assert result == 3
    assert trace.events == [
        call(b, "def loop(n):", {"n": "3"}),
        line(b + 1, "    total = 0", {"n": ".."}),
        line(b + 2, head, {"n": "..", "total": "0"}),
        line(b + 3, body, {"n": "..", "total": "..", "i": "0"}),
        line(b + 2, back, {"n": "..", "total": "..", "i": ".."}),
        line(b + 3, body, {"n": "..", "total": "..", "i": "1"}),
        line(b + 2, back, {"n": "..", "total": "1", "i": ".."}),
        line(b + 3, body, {"n": "..", "total": "..", "i": "2"}),
        line(b + 2, back, {"n": "..", "total": "3", "i": ".."}),
        line(b + 4, end, {"n": "..", "total": "..", "i": ".."}),
        ret(b + 4, end, "3"),
    ]
    assert (trace.status, trace.outcome, trace.line_events, trace.backend) == (
        "complete",
        "return",
        9,
        BACKEND,
    )
    assert trace.target == "tests.traces.samples.loop"
    assert trace.bytes == len(json.dumps(trace.events))


def test_recursion_without_step_in_records_only_the_entry():
    result, trace = trace_call(samples.fact, 3, roots=ROOTS)
    b = first_line(samples.fact)
    assert result == 6
    assert trace.events == [
        call(b, "def fact(n):", {"n": "3"}),
        line(b + 1, "    if n <= 1:", {"n": ".."}),
        line(b + 3, "    return n * fact(n - 1)", {"n": ".."}),
        ret(b + 3, "    return n * fact(n - 1)", "6"),
    ]
    assert [f["name"] for f in trace.functions] == ["fact"]


def test_recursion_with_step_in_stops_at_the_depth_limit():
    config = TraceConfig(step_in=True, max_depth=2)
    result, trace = trace_call(samples.fact, 4, roots=ROOTS, config=config)
    b = first_line(samples.fact)
    cond, rec = "    if n <= 1:", "    return n * fact(n - 1)"
    assert result == 24  # fact(1), at depth 3, still runs: it is just not recorded
    assert trace.events == [
        call(b, "def fact(n):", {"n": "4"}),
        line(b + 1, cond, {"n": ".."}),
        line(b + 3, rec, {"n": ".."}),
        call(b, "def fact(n):", {"n": "3"}, depth=1),
        line(b + 1, cond, {"n": ".."}, depth=1),
        line(b + 3, rec, {"n": ".."}, depth=1),
        call(b, "def fact(n):", {"n": "2"}, depth=2),
        line(b + 1, cond, {"n": ".."}, depth=2),
        line(b + 3, rec, {"n": ".."}, depth=2),
        ret(b + 3, rec, "2", depth=2),
        ret(b + 3, rec, "6", depth=1),
        ret(b + 3, rec, "24"),
    ]


def test_every_call_of_a_target_is_a_trace_of_its_own():
    with Tracer([samples.fact], ROOTS) as tracer:
        assert samples.fact(3) == 6
    b = first_line(samples.fact)
    rec = "    return n * fact(n - 1)"
    # Traces are delivered as calls end: innermost first.
    assert [t.events for t in tracer.traces] == [
        [
            call(b, "def fact(n):", {"n": "1"}),
            line(b + 1, "    if n <= 1:", {"n": ".."}),
            line(b + 2, "        return 1", {"n": ".."}),
            ret(b + 2, "        return 1", "1"),
        ],
        [
            call(b, "def fact(n):", {"n": "2"}),
            line(b + 1, "    if n <= 1:", {"n": ".."}),
            line(b + 3, rec, {"n": ".."}),
            ret(b + 3, rec, "2"),
        ],
        [
            call(b, "def fact(n):", {"n": "3"}),
            line(b + 1, "    if n <= 1:", {"n": ".."}),
            line(b + 3, rec, {"n": ".."}),
            ret(b + 3, rec, "6"),
        ],
    ]


def test_max_traces_per_target_skips_later_calls():
    with Tracer(["tests.traces.samples.fact"], ROOTS, TraceConfig(max_traces_per_target=2)) as tracer:
        assert samples.fact(4) == 24
    assert [t.events[0]["locals"] for t in tracer.traces] == [{"n": "3"}, {"n": "4"}]
    assert tracer.skipped == {"tests.traces.samples.fact": 2}


def test_exception_caught_inside_the_function():
    result, trace = trace_call(samples.caught, 0, roots=ROOTS)
    b = first_line(samples.caught)
    division = "        y = 10 // x"
    assert result == -1
    assert trace.events == [
        call(b, "def caught(x):", {"x": "0"}),
        line(b + 1, "    try:", {"x": ".."}),
        line(b + 2, division, {"x": ".."}),
        exc(b + 2, division, "ZeroDivisionError('integer division or modulo by zero')"),
        line(b + 3, "    except ZeroDivisionError:", {"x": ".."}),
        line(b + 4, "        y = -1", {"x": ".."}),
        line(b + 5, "    return y", {"x": "..", "y": "-1"}),
        ret(b + 5, "    return y", "-1"),
    ]


def test_uncaught_exception_ends_the_trace_and_reaches_the_caller():
    b = first_line(samples.uncaught)
    raising = '    raise ValueError(f"bad {y}")'
    expected = [
        call(b, "def uncaught(x):", {"x": "1"}),
        line(b + 1, "    y = x + 1", {"x": ".."}),
        line(b + 2, raising, {"x": "..", "y": "2"}),
        exc(b + 2, raising, "ValueError('bad 2')"),
    ]
    raised, trace = trace_call(samples.uncaught, 1, roots=ROOTS)
    assert isinstance(raised, ValueError) and str(raised) == "bad 2"
    assert (trace.events, trace.outcome, trace.status) == (expected, "exception", "complete")

    with Tracer([samples.uncaught], ROOTS) as tracer, pytest.raises(ValueError, match="bad 2") as info:
        samples.uncaught(1)
    assert info.value.__traceback__ is not None
    assert [t.events for t in tracer.traces] == [expected]


def test_exception_from_a_callee_with_step_in():
    result, trace = trace_call(samples.calls_uncaught, 1, roots=ROOTS, config=TraceConfig(step_in=True))
    b, u = first_line(samples.calls_uncaught), first_line(samples.uncaught)
    raising = '    raise ValueError(f"bad {y}")'
    assert result == "bad 2"
    assert trace.events == [
        call(b, "def calls_uncaught(x):", {"x": "1"}),
        line(b + 1, "    try:", {"x": ".."}),
        line(b + 2, "        uncaught(x)", {"x": ".."}),
        call(u, "def uncaught(x):", {"x": "1"}, depth=1),
        line(u + 1, "    y = x + 1", {"x": ".."}, depth=1),
        line(u + 2, raising, {"x": "..", "y": "2"}, depth=1),
        exc(u + 2, raising, "ValueError('bad 2')", depth=1),
        # The callee ends without a return event; the caller sees the exception at the call.
        exc(b + 2, "        uncaught(x)", "ValueError('bad 2')"),
        # After another frame's events the caller restates its values (no "..").
        line(b + 3, "    except ValueError as exc:", {"x": "1"}),
        line(b + 4, "        return str(exc)", {"x": "..", "exc": "ValueError('bad 2')"}),
        ret(b + 4, "        return str(exc)", "'bad 2'"),
    ]
    assert [f["name"] for f in trace.functions] == ["calls_uncaught", "uncaught"]


def test_generator_yields_are_returns_and_resumes_are_calls():
    with Tracer(["tests.traces.samples.countdown"], ROOTS) as tracer:
        assert list(samples.countdown(2)) == [2, 1]
    b = first_line(samples.countdown)
    cond, step, dec, done = "    while n > 0:", "        yield n", "        n -= 1", '    return "done"'
    [trace] = tracer.traces
    assert trace.events == [
        call(b, "def countdown(n):", {"n": "2"}),
        line(b + 1, cond, {"n": ".."}),
        line(b + 2, step, {"n": ".."}),
        ret(b + 2, step, "2"),
        call(b + 2, step, {"n": "2"}),
        line(b + 3, dec, {"n": ".."}),
        line(b + 1, cond, {"n": "1"}),
        line(b + 2, step, {"n": ".."}),
        ret(b + 2, step, "1"),
        call(b + 2, step, {"n": "1"}),
        line(b + 3, dec, {"n": ".."}),
        line(b + 1, cond, {"n": "0"}),
        line(b + 4, done, {"n": ".."}),
        ret(b + 4, done, "'done'"),
    ]
    assert (trace.status, trace.outcome) == ("complete", "return")


def test_generator_consumed_by_the_traced_function():
    result, trace = trace_call(samples.sum_countdown, 2, roots=ROOTS, config=TraceConfig(step_in=True))
    b, g = first_line(samples.sum_countdown), first_line(samples.countdown)
    head, add = "    for value in countdown(n):", "        total += value"
    cond, step, dec, done = "    while n > 0:", "        yield n", "        n -= 1", '    return "done"'
    assert result == 3
    assert trace.events == [
        call(b, "def sum_countdown(n):", {"n": "2"}),
        line(b + 1, "    total = 0", {"n": ".."}),
        line(b + 2, head, {"n": "..", "total": "0"}),
        call(g, "def countdown(n):", {"n": "2"}, depth=1),
        line(g + 1, cond, {"n": ".."}, depth=1),
        line(g + 2, step, {"n": ".."}, depth=1),
        ret(g + 2, step, "2", depth=1),
        line(b + 3, add, {"n": "2", "total": "0", "value": "2"}),
        line(b + 2, head, {"n": "..", "total": "2", "value": ".."}),
        call(g + 2, step, {"n": "2"}, depth=1),
        line(g + 3, dec, {"n": ".."}, depth=1),
        line(g + 1, cond, {"n": "1"}, depth=1),
        line(g + 2, step, {"n": ".."}, depth=1),
        ret(g + 2, step, "1", depth=1),
        line(b + 3, add, {"n": "2", "total": "2", "value": "1"}),
        line(b + 2, head, {"n": "..", "total": "3", "value": ".."}),
        call(g + 2, step, {"n": "1"}, depth=1),
        line(g + 3, dec, {"n": ".."}, depth=1),
        line(g + 1, cond, {"n": "0"}, depth=1),
        line(g + 4, done, {"n": ".."}, depth=1),
        ret(g + 4, done, "'done'", depth=1),
        # The loop ends on the StopIteration carrying the generator's return value.
        exc(b + 2, head, "StopIteration('done')"),
        line(b + 4, "    return total", {"n": "2", "total": "3", "value": "1"}),
        ret(b + 4, "    return total", "3"),
    ]


def test_generator_left_suspended_is_incomplete():
    with Tracer([samples.countdown], ROOTS) as tracer:
        gen = samples.countdown(3)
        assert next(gen) == 3
    assert next(gen) == 2  # the generator goes on untraced
    [trace] = tracer.traces
    assert (trace.status, trace.outcome) == ("incomplete", None)
    assert [e["kind"] for e in trace.events] == ["call", "line", "line", "return"]


def test_closure_shows_its_free_variables():
    result, trace = trace_call(samples.ADD_TWO, 5, roots=ROOTS)
    b = first_line(samples.ADD_TWO)
    assert result == 7
    assert trace.events == [
        call(b, "    def add(x):", {"x": "5", "k": "2"}),
        line(b + 1, "        return x + k", {"x": "..", "k": ".."}),
        ret(b + 1, "        return x + k", "7"),
    ]
    assert trace.target == "tests.traces.samples.make_adder.<locals>.add"


def test_value_whose_repr_raises():
    result, trace = trace_call(samples.keeps_bad_repr, roots=ROOTS)
    b = first_line(samples.keeps_bad_repr)
    assert isinstance(result, samples.BadRepr)
    assert trace.events == [
        call(b, "def keeps_bad_repr():", {}),
        line(b + 1, "    obj = BadRepr()", {}),
        line(b + 2, "    return obj", {"obj": "<unrepresentable BadRepr>"}),
        ret(b + 2, "    return obj", "<unrepresentable BadRepr>"),
    ]


def test_object_holding_a_generator_is_shown_without_consuming_it():
    # repr(stmt) would drain stmt.tokens: the program must still read every token afterwards.
    result, trace = trace_call(samples.lazy_statement, ["a", "b"], roots=ROOTS)
    b = first_line(samples.lazy_statement)
    assert list(result.tokens) == ["A", "B"]
    plain = "<tests.traces.samples.Statement object at " + hex(id(result)) + ">"
    assert trace.events[:3] == [
        call(b, "def lazy_statement(words):", {"words": "['a', 'b']"}),
        line(b + 1, "    stmt = Statement(words)", {"words": ".."}),
        line(
            b + 2,
            "    stmt.tokens = (w.upper() for w in stmt.tokens)",
            {"words": "..", "stmt": "Statement(ab)"},
        ),
    ]
    assert trace.events[3]["locals"]["stmt"] == plain
    assert trace.events[4]["value"] == plain


def test_slotted_object_holding_a_generator_is_shown_without_consuming_it():
    result, trace = trace_call(samples.lazy_slotted, ["a", "b"], roots=ROOTS)
    assert list(result.tokens) == ["A", "B"]
    plain = "<tests.traces.samples.SlottedStatement object at " + hex(id(result)) + ">"
    assert trace.events[2]["locals"]["stmt"] == "SlottedStatement(ab)"
    assert trace.events[3]["locals"]["stmt"] == plain
    assert trace.events[4]["value"] == plain


def test_huge_values_are_cut_with_a_marker():
    result, trace = trace_call(samples.huge_values, 1000, roots=ROOTS, config=TraceConfig(max_repr=20))
    b = first_line(samples.huge_values)
    final = "    return len(big) + len(text) + len(repr(obj))"
    assert result == 1000 + 300 + 100_000
    assert trace.events == [
        call(b, "def huge_values(n):", {"n": "1000"}),
        line(b + 1, "    big = list(range(n))", {"n": ".."}),
        line(b + 2, '    text = "a" * 300', {"n": "..", "big": "[0, 1, 2, 3, 4, 5, 6..."}),
        line(b + 3, "    obj = HugeRepr()", {"n": "..", "big": "..", "text": "'" + "a" * 19 + "..."}),
        line(b + 4, final, {"n": "..", "big": "..", "text": "..", "obj": "H" * 20 + "..."}),
        ret(b + 4, final, "101300"),
    ]
    default = trace_call(samples.huge_values, 3, roots=ROOTS)[1]
    assert default.events[-2]["locals"]["obj"] == "H" * 200 + "..."


def test_values_that_json_cannot_encode_are_repr_strings():
    result, trace = trace_call(samples.odd_values, roots=ROOTS)
    b = first_line(samples.odd_values)
    assert repr(result) == "({3}, b'\\x00ab', Point(1, 2), frozenset())"
    assert trace.events == [
        call(b, "def odd_values():", {}),
        line(b + 1, "    s = {3}", {}),
        line(b + 2, '    b = b"\\x00ab"', {"s": "{3}"}),
        line(b + 3, "    p = Point(1, 2)", {"s": "..", "b": "b'\\x00ab'"}),
        line(b + 4, "    f = frozenset()", {"s": "..", "b": "..", "p": "Point(1, 2)"}),
        line(b + 5, "    return (s, b, p, f)", {"s": "..", "b": "..", "p": "..", "f": "frozenset()"}),
        ret(b + 5, "    return (s, b, p, f)", "({3}, b'\\x00ab', Point(1, 2), frozenset())"),
    ]
    assert parse_trace(trace.to_json()).events[-1].value == "({3}, b'\\x00ab', Point(1, 2), frozenset())"


def test_a_thread_started_inside_is_not_recorded():
    result, trace = trace_call(samples.spawn, roots=ROOTS, config=TraceConfig(step_in=True))
    b = first_line(samples.spawn)
    start = '    threading.Thread(target=_work, args=(inbox,), name="worker").start()'
    head, add = "    for _ in range(3):", "        total += inbox.get()"
    assert result == 30
    assert trace.events == [
        call(b, "def spawn():", {}),
        line(b + 1, "    inbox = Inbox()", {}),
        line(b + 2, start, {"inbox": "Inbox()"}),
        line(b + 3, "    total = 0", {"inbox": ".."}),
        line(b + 4, head, {"inbox": "..", "total": "0"}),
        line(b + 5, add, {"inbox": "..", "total": "..", "_": "0"}),
        line(b + 4, head, {"inbox": "..", "total": "..", "_": ".."}),
        line(b + 5, add, {"inbox": "..", "total": "..", "_": "1"}),
        line(b + 4, head, {"inbox": "..", "total": "10", "_": ".."}),
        line(b + 5, add, {"inbox": "..", "total": "..", "_": "2"}),
        line(b + 4, head, {"inbox": "..", "total": "30", "_": ".."}),
        line(b + 6, "    return total", {"inbox": "..", "total": "..", "_": ".."}),
        ret(b + 6, "    return total", "30"),
    ]
    assert [f["name"] for f in trace.functions] == ["spawn"]  # Inbox() and _work never appear


def test_target_called_in_another_thread_is_not_traced():
    import threading

    with Tracer([samples.loop], ROOTS) as tracer:
        worker = threading.Thread(target=samples.loop, args=(3,))
        worker.start()
        worker.join()
        assert samples.loop(2) == 1
    assert [t.events[0]["locals"] for t in tracer.traces] == [{"n": "2"}]


def test_line_event_cap_truncates_without_touching_the_program():
    config = TraceConfig(max_line_events=5)
    result, trace = trace_call(samples.long_loop, 100, roots=ROOTS, config=config)
    b = first_line(samples.long_loop)
    head, body = "    for i in range(n):", "        total += i"
    assert result == 4950
    assert (trace.status, trace.truncation, trace.outcome, trace.line_events) == (
        "truncated",
        "max_line_events",
        "return",
        5,
    )
    assert trace.events == [
        call(b, "def long_loop(n):", {"n": "100"}),
        line(b + 1, "    total = 0", {"n": ".."}),
        line(b + 2, head, {"n": "..", "total": "0"}),
        line(b + 3, body, {"n": "..", "total": "..", "i": "0"}),
        line(b + 2, head, {"n": "..", "total": "..", "i": ".."}),
        line(b + 3, body, {"n": "..", "total": "..", "i": "1"}),
    ]


def test_byte_cap_truncates_without_touching_the_program():
    result, trace = trace_call(samples.long_loop, 100, roots=ROOTS, config=TraceConfig(max_bytes=400))
    b = first_line(samples.long_loop)
    assert result == 4950
    assert (trace.status, trace.truncation) == ("truncated", "max_bytes")
    assert trace.events == [
        call(b, "def long_loop(n):", {"n": "100"}),
        line(b + 1, "    total = 0", {"n": ".."}),
        line(b + 2, "    for i in range(n):", {"n": "..", "total": "0"}),
    ]
    assert trace.bytes == len(json.dumps(trace.events)) <= 400
    assert (
        len(
            json.dumps(
                [*trace.events, line(b + 3, "        total += i", {"n": "..", "total": "..", "i": "0"})]
            )
        )
        > 400
    )


def test_unchanged_values_are_written_as_dots():
    result, trace = trace_call(samples.same_values, roots=ROOTS)
    b = first_line(samples.same_values)
    assert result == [1, 1]
    assert trace.events == [
        call(b, "def same_values():", {}),
        line(b + 1, "    a = 1", {}),
        line(b + 2, "    b = [a]", {"a": "1"}),
        line(b + 3, "    a = 1", {"a": "..", "b": "[1]"}),
        line(b + 4, "    b.append(a)", {"a": "..", "b": ".."}),  # rebinding an equal value
        line(b + 5, "    return b", {"a": "..", "b": "[1, 1]"}),  # a mutation is a change
        ret(b + 5, "    return b", "[1, 1]"),
    ]


def test_decorated_function_starts_at_its_def_line():
    result, trace = trace_call(samples.decorated, 3, roots=ROOTS, config=TraceConfig(step_in=True))
    d = first_line(samples.decorated.__wrapped__)  # the @logged line
    assert result == 6
    assert trace.events == [
        call(d + 1, "def decorated(x):", {"x": "3"}),
        line(d + 2, "    return x * 2", {"x": ".."}),
        ret(d + 2, "    return x * 2", "6"),
    ]
    assert trace.functions[0]["def_line"] == d + 1 and trace.functions[0]["first_line"] == d


def test_program_results_are_unchanged():
    cases = [
        (samples.loop, (7,)),
        (samples.fact, (6,)),
        (samples.caught, (3,)),
        (samples.sum_countdown, (4,)),
        (samples.by_key, ([4, 1, 3],)),
        (samples.throws_in, ()),
        (samples.calls_reraises, ()),
        (samples.run_async, (41,)),
        (samples.uses_delegate, ()),
        (samples.squares, (5,)),
    ]
    for fn, args in cases:
        for config in (TraceConfig(), TraceConfig(step_in=True, max_depth=5)):
            traced, trace = trace_call(fn, *args, roots=ROOTS, config=config)
            assert traced == fn(*args), fn.__name__
            assert trace.status == "complete", fn.__name__


def test_tracer_failures_never_reach_the_program(monkeypatch):
    def broken(filename, lineno):
        raise RuntimeError("tracer bug")

    monkeypatch.setattr(ft, "_line_text", broken)
    result, trace = trace_call(samples.loop, 4, roots=ROOTS)
    assert result == 6
    assert (trace.status, trace.error, trace.events) == ("error", "RuntimeError: tracer bug", [])


def test_failing_trace_sink_is_reported_not_raised():
    def sink(trace):
        raise OSError("disk full")

    with Tracer([samples.loop], ROOTS, on_trace=sink) as tracer:
        assert samples.loop(3) == 3
    assert tracer.errors == ["on_trace: OSError: disk full"]


def test_only_code_under_the_roots_is_traced():
    with pytest.raises(ValueError, match="not under the roots"):
        trace_call(json.dumps, {}, roots=ROOTS)
    with pytest.raises(ValueError, match="generators"):
        trace_call(samples.countdown, 2, roots=ROOTS)
    with pytest.raises(ValueError, match="roots"):
        Tracer([samples.loop], [])
    tracer = Tracer([samples.loop], ROOTS)
    assert tracer.traceable(samples.loop) and not tracer.traceable(json.dumps)
    assert not tracer.traceable(ft.trace_call)  # the tracer never traces itself


def test_config_is_validated():
    with pytest.raises(ValueError, match="max_line_events"):
        TraceConfig(max_line_events=0)
    with pytest.raises(ValueError, match="backend"):
        TraceConfig(backend="ptrace")
    if sys.version_info < (3, 12):
        with pytest.raises(ValueError, match=r"3\.12"):
            TraceConfig(backend="monitoring")
