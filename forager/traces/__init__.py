"""Execution traces in CWM's format.

`runtime/forager_tracer.py` records traces inside the program under test (standard library
only); `models` validates them on the host and `render` turns them into CWM's token format.
"""

from forager.traces.errors import TraceError
from forager.traces.models import TRACE_FORMAT, Trace, TracedFunction, TraceEvent, TraceSettings, parse_trace
from forager.traces.render import render_context, render_event, render_trace

__all__ = [
    "TRACE_FORMAT",
    "Trace",
    "TraceError",
    "TraceEvent",
    "TraceSettings",
    "TracedFunction",
    "parse_trace",
    "render_context",
    "render_event",
    "render_trace",
]
