"""Rendering traces into CWM's trace-prediction token format.

    <|trace_context_start|>CONTEXT<|frame_sep|>
    <|call_sep|>LOCALS<|action_sep|>SOURCE<|frame_sep|>
    <|line_sep|>LOCALS<|action_sep|>SOURCE<|frame_sep|>
    <|return_sep|><|action_sep|>SOURCE<|arg_sep|>VALUE<|frame_sep|>
    <|exception_sep|><|action_sep|>SOURCE<|arg_sep|>VALUE<|frame_sep|>

(one string, no line breaks between the pieces). Details follow CWM's public debugger demo
(facebookresearch/cwm, demos/cwmdbg.py): LOCALS is `json.dumps` of the locals dict and VALUE
`json.dumps` of the repr string, both with the default separators and ASCII escaping; SOURCE
is the source line with its indentation, followed by a newline (the demo strips a trailing
"\\n" from every predicted line); the entry's `def` line carries `  # << START_OF_TRACE` in the
context. BOS/EOS tokens (`<|begin_of_text|>`, `<|end_of_text|>`) are the tokenizer's job.
"""

from __future__ import annotations

import json

from forager.traces.errors import TraceError
from forager.traces.models import Trace, TracedFunction, TraceEvent

TRACE_CONTEXT_START = "<|trace_context_start|>"
FRAME_SEP = "<|frame_sep|>"
ACTION_SEP = "<|action_sep|>"
RETURN_SEP = "<|return_sep|>"
CALL_SEP = "<|call_sep|>"
LINE_SEP = "<|line_sep|>"
EXCEPTION_SEP = "<|exception_sep|>"
ARG_SEP = "<|arg_sep|>"
START_MARKER = "  # << START_OF_TRACE"

_KIND_TOKENS = {"call": CALL_SEP, "line": LINE_SEP, "return": RETURN_SEP, "exception": EXCEPTION_SEP}


def mark_entry(function: TracedFunction) -> str:
    """The function's source with the START_OF_TRACE marker at the end of its `def` line."""
    if not function.source:
        raise TraceError(f"no source for {function.name} ({function.file}): cannot build the context")
    lines = function.source.splitlines(keepends=True)
    index = function.def_line - function.first_line
    if not 0 <= index < len(lines):
        raise TraceError(f"def line {function.def_line} of {function.name} is outside its source")
    line = lines[index]
    body = line.rstrip("\r\n")
    lines[index] = body + START_MARKER + line[len(body) :]
    return "".join(lines)


def render_context(trace: Trace) -> str:
    """The source context: the callees the trace steps into, then the marked traced function.

    Helpers come first as in CWM's examples; each function appears once, in order of first call.
    """
    entry = trace.entry
    seen = {(entry.file, entry.first_line)}
    parts: list[str] = []
    for function in trace.functions[1:]:
        key = (function.file, function.first_line)
        if key in seen or not function.source:
            continue
        seen.add(key)
        parts.append(_with_newline(function.source))
    parts.append(_with_newline(mark_entry(entry)))
    return "\n".join(parts)


def render_event(event: TraceEvent, *, source_newline: bool = True) -> str:
    source = event.source + "\n" if source_newline else event.source
    token = _KIND_TOKENS[event.kind]
    if event.kind in ("call", "line"):
        return f"{token}{json.dumps(event.locals)}{ACTION_SEP}{source}{FRAME_SEP}"
    return f"{token}{ACTION_SEP}{source}{ARG_SEP}{json.dumps(event.value)}{FRAME_SEP}"


def render_trace(
    trace: Trace,
    *,
    context: str | None = None,
    source_newline: bool = True,
    require_complete: bool = True,
) -> str:
    """The trace as one CWM training string; `context` defaults to `render_context(trace)`.

    Truncated, failed or unfinished traces are refused unless `require_complete=False`: CWM
    drops them rather than train on a partial execution.
    """
    if require_complete and not trace.usable:
        raise TraceError(
            f"trace of {trace.target} is {trace.status}"
            + (f" ({trace.truncation})" if trace.truncation else "")
            + ": pass require_complete=False to render it anyway"
        )
    text = render_context(trace) if context is None else context
    events = "".join(render_event(event, source_newline=source_newline) for event in trace.events)
    return f"{TRACE_CONTEXT_START}{text}{FRAME_SEP}{events}"


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
