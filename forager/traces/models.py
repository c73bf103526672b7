"""Pydantic models of a recorded trace (`format: "forager.trace/1"`), as the runtime writes it."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from forager.traces.errors import TraceError

TRACE_FORMAT = "forager.trace/1"

EventKind = Literal["call", "line", "return", "exception"]
TraceStatus = Literal["recording", "complete", "truncated", "error", "incomplete"]


class TraceEvent(BaseModel):
    """One step: `locals` for call/line events, `value` for return/exception events.

    Every value is a repr string; in line events `".."` means "unchanged since the previous
    event of this frame". `depth` is 0 for the traced function, 1 for its callees, and so on.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EventKind
    depth: int = Field(ge=0)
    line: int = Field(ge=0)
    source: str
    locals: dict[str, str] | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _payload_matches_kind(self) -> Self:
        if self.kind in ("call", "line"):
            if self.locals is None or self.value is not None:
                raise ValueError(f"a {self.kind} event has locals and no value")
        elif self.value is None or self.locals is not None:
            raise ValueError(f"a {self.kind} event has a value and no locals")
        return self

    @model_serializer(mode="wrap")
    def _runtime_shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Dump as the runtime writes events: only the payload that the kind has.
        data: dict[str, Any] = handler(self)
        data.pop("value" if self.kind in ("call", "line") else "locals", None)
        return data


class TracedFunction(BaseModel):
    """A function whose events appear in the trace; the traced function comes first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    file: str
    first_line: int = Field(ge=0)  # first decorator line, if decorated
    def_line: int = Field(ge=0)
    source: str  # "" when the runtime could not read it


class TraceSettings(BaseModel):
    """The runtime's TraceConfig the trace was recorded with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_line_events: int
    max_bytes: int
    max_depth: int
    step_in: bool
    max_repr: int
    truncation_marker: str
    max_traces_per_target: int


class Trace(BaseModel):
    """One call of a target function, as recorded by the runtime tracer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["forager.trace/1"]
    target: str  # "module.qualname"
    file: str
    python: str
    backend: Literal["settrace", "monitoring"]
    status: TraceStatus
    truncation: Literal["max_line_events", "max_bytes"] | None = None
    error: str | None = None
    outcome: Literal["return", "exception"] | None = None
    line_events: int = Field(ge=0)
    bytes: int = Field(ge=0)
    config: TraceSettings
    functions: list[TracedFunction]
    events: list[TraceEvent]

    @property
    def usable(self) -> bool:
        """CWM keeps only traces that ended within their caps (over 10k lines or 1 MB: dropped)."""
        return self.status == "complete" and bool(self.events)

    @property
    def entry(self) -> TracedFunction:
        if not self.functions:
            raise TraceError(f"trace of {self.target} lists no functions, so it has no source context")
        return self.functions[0]


def parse_trace(data: str | bytes | dict[str, Any]) -> Trace:
    """A Trace from the runtime's JSON (text or already decoded)."""
    try:
        if isinstance(data, dict):
            return Trace.model_validate(data)
        return Trace.model_validate_json(data)
    except ValidationError as exc:
        raise TraceError(f"not a {TRACE_FORMAT} trace: {exc}") from exc
