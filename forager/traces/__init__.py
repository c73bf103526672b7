"""Execution traces in CWM's format.

`runtime/forager_tracer.py` records traces inside the program under test (standard library
only); `models` validates them on the host and `render` turns them into CWM's token format.
`collect.collect_traces` harvests them from a verified environment's tests into the store
(`store.TraceStore`); it is imported from its module, as it needs Docker and the store.
"""

from forager.traces.errors import TraceError
from forager.traces.models import TRACE_FORMAT, Trace, TracedFunction, TraceEvent, TraceSettings, parse_trace
from forager.traces.render import render_context, render_event, render_trace
from forager.traces.runtime.forager_tracer import TraceConfig

__all__ = [
    "TRACE_FORMAT",
    "Trace",
    "TraceConfig",
    "TraceError",
    "TraceEvent",
    "TraceSettings",
    "TracedFunction",
    "parse_trace",
    "render_context",
    "render_event",
    "render_trace",
]
