"""Host-side models and rendering into CWM's trace tokens."""

from __future__ import annotations

import json

import pytest

from forager.traces import TRACE_FORMAT, TraceError, parse_trace, render_context, render_trace
from forager.traces.runtime import forager_tracer as ft
from forager.traces.runtime.forager_tracer import TraceConfig, trace_call
from tests.traces import samples
from tests.traces.helpers import ROOTS


def _traced(fn, *args, **settings):
    return parse_trace(trace_call(fn, *args, roots=ROOTS, config=TraceConfig(**settings))[1].to_json())


def test_render_small_function_exactly():
    trace = _traced(samples.tiny, 1, 2)
    assert render_trace(trace) == (
        "<|trace_context_start|>"
        "def tiny(a, b):  # << START_OF_TRACE\n"
        "    c = a + b\n"
        "    return c\n"
        "<|frame_sep|>"
        '<|call_sep|>{"a": "1", "b": "2"}<|action_sep|>def tiny(a, b):\n<|frame_sep|>'
        '<|line_sep|>{"a": "..", "b": ".."}<|action_sep|>    c = a + b\n<|frame_sep|>'
        '<|line_sep|>{"a": "..", "b": "..", "c": "3"}<|action_sep|>    return c\n<|frame_sep|>'
        '<|return_sep|><|action_sep|>    return c\n<|arg_sep|>"3"<|frame_sep|>'
    )


def test_render_without_newlines_after_source_lines():
    text = render_trace(_traced(samples.tiny, 1, 2), source_newline=False)
    assert '<|action_sep|>def tiny(a, b):<|frame_sep|><|line_sep|>{"a": "..", "b": ".."}' in text
    assert text.endswith('<|return_sep|><|action_sep|>    return c<|arg_sep|>"3"<|frame_sep|>')


def test_render_exception_and_string_values_are_json_strings():
    text = render_trace(_traced(samples.uncaught, 1))
    assert text.endswith(
        '<|line_sep|>{"x": "..", "y": "2"}<|action_sep|>    raise ValueError(f"bad {y}")\n<|frame_sep|>'
        '<|exception_sep|><|action_sep|>    raise ValueError(f"bad {y}")\n'
        "<|arg_sep|>\"ValueError('bad 2')\"<|frame_sep|>"
    )


def test_context_lists_stepped_into_callees_before_the_marked_entry():
    trace = _traced(samples.calls_uncaught, 1, step_in=True)
    assert render_context(trace) == (
        "def uncaught(x):\n"
        "    y = x + 1\n"
        '    raise ValueError(f"bad {y}")\n'
        "\n"
        "def calls_uncaught(x):  # << START_OF_TRACE\n"
        "    try:\n"
        "        uncaught(x)\n"
        "    except ValueError as exc:\n"
        "        return str(exc)\n"
        '    return "unreachable"\n'
    )


def test_context_marks_the_def_line_of_a_decorated_method_source():
    trace = _traced(samples.decorated, 2)
    assert render_context(trace) == "@logged\ndef decorated(x):  # << START_OF_TRACE\n    return x * 2\n"


def test_truncated_traces_are_refused_unless_asked():
    trace = _traced(samples.long_loop, 100, max_line_events=3)
    assert not trace.usable
    with pytest.raises(TraceError, match=r"truncated \(max_line_events\)"):
        render_trace(trace)
    text = render_trace(trace, require_complete=False)
    assert text.count("<|line_sep|>") == 3


def test_runtime_json_round_trips_through_the_models():
    raw = trace_call(samples.odd_values, roots=ROOTS)[1].to_dict()
    trace = parse_trace(raw)
    assert trace.format == TRACE_FORMAT == ft.FORMAT
    assert trace.model_dump(mode="json") == raw
    assert parse_trace(json.dumps(raw)) == trace


def test_malformed_traces_raise_trace_error():
    raw = trace_call(samples.tiny, 1, 2, roots=ROOTS)[1].to_dict()
    for broken in (
        {**raw, "format": "forager.trace/0"},
        {**raw, "events": [{**raw["events"][0], "value": "1"}]},  # a call event with a value
        {**raw, "events": [{**raw["events"][-1], "locals": {}}]},  # a return event with locals
    ):
        with pytest.raises(TraceError, match=r"not a forager\.trace/1 trace"):
            parse_trace(broken)
    with pytest.raises(TraceError):
        parse_trace("{not json")
    empty = parse_trace({**raw, "functions": []})
    with pytest.raises(TraceError, match="lists no functions"):
        render_trace(empty)
