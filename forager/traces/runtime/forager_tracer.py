"""Forager's execution tracer: function-level traces in CWM's event model, standard library only.

This file is copied into a repository's container and imported by the process under test, so
it must run on CPython 3.9-3.13 with nothing but the standard library, and it must never change
what the traced program does: every callback swallows its own errors, and a trace that grows
past its caps is marked truncated instead of raising.

A trace starts when a *target* function starts (one trace per call) and records the frames of
that call whose code lies under the configured roots (never the stdlib, site-packages or this
file). Its events, in order:

- ``call``: a frame starts or a generator/coroutine resumes; ``locals`` holds its arguments.
- ``line``: a line is about to run; ``locals`` as they are before it runs.
- ``return``: the frame returns or yields; ``value`` is the repr of the value.
- ``exception``: an exception is raised in, or propagates into, the frame; ``value`` is its repr.

A frame left by an exception has no ``return`` event: its last event is the ``exception``.
Every value is a ``repr`` string cut at ``max_repr`` characters (plus a marker). In ``line``
events a value whose string is unchanged since the previous event of the same frame is written
``".."``; ``call`` events and the first event of a frame after another frame's events restate
every value, because CWM's decoder resolves ``".."`` only back to the last call/return.

Callees (other repo functions, at any depth below the entry) are recorded only with
``step_in`` and down to ``max_depth``; depth counts repo functions between the entry and the
frame. Only the thread that installed the tracer is recorded: other threads run untraced.

Backends: ``sys.monitoring`` on Python >= 3.12, ``sys.settrace`` before. The monitoring backend
reproduces the legacy tracer's line rule (a new line, or a backward jump within one line), so
both give the same stream for the same code on the same interpreter.
"""

from __future__ import annotations

import collections
import inspect
import itertools
import json
import linecache
import opcode
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from types import CodeType, FrameType, MemberDescriptorType
from typing import Any

FORMAT = "forager.trace/1"
_CO_NEWLOCALS = 0x2  # functions, lambdas, comprehensions; not modules or class bodies
_CO_SUSPENDABLE = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async gen
_MONITORING: Any = getattr(sys, "monitoring", None)
_TOOL_NAME = "forager-tracer"
_MAX_ERRORS = 100
_SERIALS = itertools.count(1)
_DISABLED_BY: int | None = None  # the Tracer whose sys.monitoring DISABLEs are in force

__all__ = ["FORMAT", "Trace", "TraceConfig", "Tracer", "trace_call"]


@dataclass(frozen=True)
class TraceConfig:
    """Limits and options of a trace (the defaults follow CWM's filters)."""

    max_line_events: int = 10_000
    max_bytes: int = 1_000_000
    max_depth: int = 3
    step_in: bool = False
    max_repr: int = 200
    truncation_marker: str = "..."
    max_traces_per_target: int = 100
    backend: str = "auto"  # "auto", "settrace" or "monitoring"

    def __post_init__(self) -> None:
        for name in ("max_line_events", "max_bytes", "max_repr", "max_traces_per_target"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_depth < 0:
            raise ValueError("max_depth must be 0 or more")
        if self.backend not in ("auto", "settrace", "monitoring"):
            raise ValueError("backend must be 'auto', 'settrace' or 'monitoring'")
        if self.backend == "monitoring" and _MONITORING is None:
            raise ValueError("the monitoring backend needs Python 3.12 or later")

    def resolved_backend(self) -> str:
        if self.backend != "auto":
            return self.backend
        return "monitoring" if _MONITORING is not None else "settrace"


class Trace:
    """One recorded call of a target function; `to_dict()` is the JSON form."""

    def __init__(self, target: str, file: str, backend: str, config: TraceConfig) -> None:
        self.target = target
        self.file = file
        self.backend = backend
        self.config = config
        self.python = ".".join(str(part) for part in sys.version_info[:3])
        # recording -> complete | truncated (a cap was hit) | error (tracer failure)
        #           | incomplete (uninstalled before the call ended)
        self.status = "recording"
        self.truncation: str | None = None  # "max_line_events" or "max_bytes"
        self.error: str | None = None
        self.outcome: str | None = None  # "return" or "exception" once the call ended
        self.line_events = 0
        self.bytes = 2  # len(json.dumps(self.events)), kept up to date as events are added
        self.functions: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def to_dict(self) -> dict[str, Any]:
        settings = asdict(self.config)
        del settings["backend"]
        return {
            "format": FORMAT,
            "target": self.target,
            "file": self.file,
            "python": self.python,
            "backend": self.backend,
            "status": self.status,
            "truncation": self.truncation,
            "error": self.error,
            "outcome": self.outcome,
            "line_events": self.line_events,
            "bytes": self.bytes,
            "config": settings,
            "functions": self.functions,
            "events": self.events,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


# ---------------------------------------------------------------------------------------------
# Values: repr strings that are bounded and never raise


class _Repr:
    """`repr()` cut at `limit` characters; big builtin containers and strings are formatted
    only as far as needed, since a huge list would otherwise cost a full repr per event."""

    def __init__(self, limit: int, marker: str) -> None:
        self._limit = limit
        self._marker = marker

    def __call__(self, obj: object) -> str:
        kind = type(obj)
        try:
            if kind in _SCALARS:  # most locals: their repr is cheap and has no side effects
                text = repr(obj)
            elif kind is str:
                text = _prefix_repr_text(obj, self._limit + 1)  # type: ignore[arg-type]
            else:
                text = self._guarded(obj)
        except Exception:  # a __repr__ that raises, or a value too big to print (huge ints)
            return _unrepresentable(obj)
        if not isinstance(text, str):
            return _unrepresentable(obj)
        if len(text) > self._limit:
            return text[: self._limit] + self._marker
        return text

    def _guarded(self, obj: object) -> str:
        # A __repr__ can leave garbage whose finalizer complains, e.g. an async property read
        # in it makes a coroutine that is never awaited: the program would not have made it,
        # so neither may its report (under `-W error` it is an unraisable error that pytest
        # turns into a test failure). Such reports during our repr() are dropped.
        hook = sys.unraisablehook
        sys.unraisablehook = _ignore_unraisable
        try:
            return _prefix_repr(obj, self._limit + 1, set())
        finally:
            sys.unraisablehook = hook


def _ignore_unraisable(unraisable: object) -> None:
    return None


_SCALARS = frozenset({int, float, bool, type(None)})

# For exact builtin containers: opening, closing, and what repr() prints for a self-reference.
_SHAPES: dict[type, tuple[str, str, str]] = {
    list: ("[", "]", "[...]"),
    tuple: ("(", ")", "(...)"),
    dict: ("{", "}", "{...}"),
    set: ("{", "}", "set(...)"),
    frozenset: ("frozenset({", "})", "frozenset(...)"),
}


def _prefix_repr(obj: object, need: int, active: set[int]) -> str:
    """repr(obj), or a prefix of it at least `need` characters long."""
    kind = type(obj)
    if kind is str or kind is bytes:
        return _prefix_repr_text(obj, need)  # type: ignore[arg-type]
    shape = _SHAPES.get(kind)
    if shape is None:
        return _other_repr(obj, kind, need, active)
    if not obj:
        return repr(obj)
    if id(obj) in active:
        return shape[2]
    active.add(id(obj))
    try:
        parts = [shape[0]]
        size = len(shape[0])
        items: Any = obj.items() if kind is dict else obj  # type: ignore[attr-defined]
        for index, item in enumerate(items):
            if index:
                parts.append(", ")
                size += 2
            if kind is dict:
                key_text = _prefix_repr(item[0], max(1, need - size), active)
                parts.append(key_text)
                size += len(key_text)
                if size >= need:
                    return "".join(parts)
                parts.append(": ")
                size += 2
                item = item[1]
            text = _prefix_repr(item, max(1, need - size), active)
            parts.append(text)
            size += len(text)
            if size >= need:
                return "".join(parts)
        if kind is tuple and len(obj) == 1:  # type: ignore[arg-type]
            parts.append(",")
        parts.append(shape[1])
        return "".join(parts)
    finally:
        active.discard(id(obj))


def _other_repr(obj: object, kind: type, need: int, active: set[int]) -> str:
    """repr() of anything but the builtin containers and strings."""
    if kind.__repr__ is _CHAINMAP_REPR:
        return _prefix_chainmap(obj, need, active)  # type: ignore[arg-type]
    if kind in _SLOW_TYPES or _is_proxy(kind) or _holds_one_shot_iterator(obj, kind):
        return _neutral_repr(obj)
    start = time.perf_counter()
    text = repr(obj)
    # A repr this slow would cost as much at every event that shows such a value: later
    # values of the type are shown neutrally.
    if time.perf_counter() - start > _SLOW_REPR_S and len(_SLOW_TYPES) < 10_000:
        _SLOW_TYPES.add(kind)
    return text


# ChainMap's repr lists all of its maps in full: a scope chain thousands of maps long (glom
# builds one in a deep recursion) takes minutes to print, so it is cut like the builtins.
_CHAINMAP_REPR = collections.ChainMap.__repr__
_SLOW_REPR_S = 0.05
_SLOW_TYPES: set[type] = set()


def _prefix_chainmap(obj: collections.ChainMap[Any, Any], need: int, active: set[int]) -> str:
    if id(obj) in active:
        return "..."  # what reprlib.recursive_repr, which ChainMap uses, prints
    active.add(id(obj))
    try:
        parts = [f"{type(obj).__name__}("]
        size = len(parts[0])
        for index, item in enumerate(obj.maps):
            if index:
                parts.append(", ")
                size += 2
            text = _prefix_repr(item, max(1, need - size), active)
            parts.append(text)
            size += len(text)
            if size >= need:
                return "".join(parts)
        parts.append(")")
        return "".join(parts)
    finally:
        active.discard(id(obj))


# Proxies (wrapt's ObjectProxy and LazyObjectProxy, and the like) forward repr() to the object
# they wrap, and a lazy one creates that object on first use: tracing must not be that use.
# A type-level __wrapped__ marks them; they are shown as object.__repr__ would.
_PROXY_TYPES: dict[type, bool] = {}


def _is_proxy(kind: type) -> bool:
    known = _PROXY_TYPES.get(kind)
    if known is None:
        try:
            known = any("__wrapped__" in vars(base) for base in kind.__mro__)
        except Exception:  # an exotic metaclass
            known = False
        if len(_PROXY_TYPES) > 10_000:  # classes made on the fly must not pile up
            _PROXY_TYPES.clear()
        _PROXY_TYPES[kind] = known
    return known


# An object keeping a one-shot iterator (a generator, map(), an iterator) in an attribute may
# print it by iterating it (sqlparse's Statement once its tokens are a generator): that repr()
# would consume what the program reads next. Such objects are shown as object.__repr__ would,
# unless their type keeps object's own repr.
_ATTRS_CHECKED = 64


def _holds_one_shot_iterator(obj: object, kind: type) -> bool:
    if kind.__repr__ is object.__repr__:
        return False
    values = _attribute_values(obj, kind)
    return any(_is_one_shot_iterator(value) for value in itertools.islice(values, _ATTRS_CHECKED))


def _attribute_values(obj: object, kind: type) -> Iterator[object]:
    """The values in the instance's dict and in its slots, read without running its code."""
    try:
        attrs = object.__getattribute__(obj, "__dict__")
    except Exception:  # no instance dict
        attrs = None
    if type(attrs) is dict:
        yield from list(attrs.values())
    for slot in _slots_of(kind):
        try:
            yield slot.__get__(obj, kind)
        except Exception:  # an unset slot
            continue


_SLOTS: dict[type, tuple[Any, ...]] = {}


def _slots_of(kind: type) -> tuple[Any, ...]:
    """The member descriptors of `__slots__` along the type's MRO (cached per type)."""
    known = _SLOTS.get(kind)
    if known is not None:
        return known
    found: list[Any] = []
    try:
        for cls in kind.__mro__:
            names = vars(cls).get("__slots__", ())
            for name in (names,) if isinstance(names, str) else names:
                if name.startswith("__") and not name.endswith("__"):
                    name = f"_{cls.__name__.lstrip('_')}{name}"  # private names are mangled
                slot = vars(cls).get(name)
                if type(slot) is MemberDescriptorType:
                    found.append(slot)
    except Exception:  # an exotic class
        found = []
    if len(_SLOTS) > 10_000:
        _SLOTS.clear()
    _SLOTS[kind] = tuple(found)
    return _SLOTS[kind]


def _is_one_shot_iterator(value: object) -> bool:
    kind = type(value)
    if kind in _SCALARS or kind is str or kind in _SHAPES:
        return False
    try:
        return hasattr(kind, "__next__")  # iter() itself could run the program's code
    except Exception:  # an exotic metaclass
        return False


def _neutral_repr(obj: object) -> str:
    kind = type(obj)
    return f"<{kind.__module__}.{kind.__qualname__} object at {id(obj):#x}>"


def _prefix_repr_text(text: str | bytes, need: int) -> str:
    if len(text) < need:
        return repr(text)
    head = repr(text[:need])
    # repr() picks its quote character from the whole value: keep the head only if it agrees.
    if isinstance(text, str):
        double = "'" in text and '"' not in text
        quote_at = 0
    else:
        double = b"'" in text and b'"' not in text
        quote_at = 1
    if head[quote_at] != ('"' if double else "'"):
        return repr(text)
    return head[:-1]  # without the closing quote, which the full repr has only at its end


def _unrepresentable(obj: object) -> str:
    try:
        name = type(obj).__name__
    except Exception:
        name = "object"
    return f"<unrepresentable {name}>"


# ---------------------------------------------------------------------------------------------
# Which code is traced, and which calls start a trace


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _CodeFilter:
    """Function code under the roots, never the stdlib, site-packages or this file."""

    def __init__(self, roots: Sequence[str]) -> None:
        self._roots = tuple(_norm(root) for root in roots)
        paths = sysconfig.get_paths()
        self._excluded = tuple({_norm(paths[key]) for key in ("stdlib", "platstdlib") if key in paths})
        self._self_file = _norm(__file__)
        # Keyed by id() and holding the code: hashing a code object hashes its whole contents.
        self._codes: dict[int, tuple[CodeType, bool]] = {}
        self._files: dict[str, bool] = {}

    def __call__(self, code: CodeType) -> bool:
        known = self._codes.get(id(code))
        if known is not None and known[0] is code:
            return known[1]
        ok = bool(code.co_flags & _CO_NEWLOCALS) and self._file_ok(code.co_filename)
        self._codes[id(code)] = (code, ok)
        return ok

    def _file_ok(self, filename: str) -> bool:
        known = self._files.get(filename)
        if known is None:
            known = self._check(filename)
            self._files[filename] = known
        return known

    def _check(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):  # <string>, <frozen ...>, <stdin>
            return False
        path = _norm(filename)
        if path == self._self_file:
            return False
        parts = path.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        if any(_under(path, excluded) for excluded in self._excluded):
            return False
        # Code compiled from a string under a made-up name ("__init__", resolved against the
        # working directory) has no source file to show.
        return any(_under(path, root) for root in self._roots) and os.path.isfile(path)


def _code_of(obj: object) -> CodeType:
    """The code object of a function, method or decorated function (through __wrapped__)."""
    if isinstance(obj, CodeType):
        return obj
    for _ in range(100):
        inner = getattr(obj, "__wrapped__", None)
        if inner is None:
            break
        obj = inner
    obj = getattr(obj, "__func__", obj)
    code = getattr(obj, "__code__", None)
    if not isinstance(code, CodeType):
        raise TypeError(f"cannot trace {obj!r}: it has no Python code")
    return code


def _qualname(code: CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)  # co_qualname exists from 3.11


def _module_of(frame: FrameType) -> str:
    name = frame.f_globals.get("__name__")
    return name if isinstance(name, str) else "?"


class _Targets:
    """Matches starting code against the targets: names "module.qualname", code objects, or a
    `select(code, module)` function that names the code to trace (None: not a target)."""

    def __init__(
        self, targets: Iterable[object], select: Callable[[CodeType, str], str | None] | None = None
    ) -> None:
        self._select = select
        self._names: set[str] = set()
        self._codes: dict[int, CodeType] = {}
        for target in targets:
            if isinstance(target, str):
                self._names.add(target)
            else:
                code = _code_of(target)
                self._codes[id(code)] = code
        self._cache: dict[int, tuple[CodeType, str | None]] = {}

    def match(self, code: CodeType, frame: FrameType) -> str | None:
        known = self._cache.get(id(code))
        if known is not None and known[0] is code:
            return known[1]
        name, final = self._resolve(code, frame)
        if final:
            self._cache[id(code)] = (code, name)
        return name

    def final(self, code: CodeType) -> bool:
        """Whether match() has decided for good about this code (it may retry on < 3.11)."""
        known = self._cache.get(id(code))
        return known is not None and known[0] is code

    def _resolve(self, code: CodeType, frame: FrameType) -> tuple[str | None, bool]:
        module = _module_of(frame)
        if self._codes.get(id(code)) is code:
            return f"{module}.{_qualname(code)}", True
        if self._select is not None:
            selected = self._select(code, module)
            if selected is not None:
                return selected, True
        if not self._names:
            return None, True
        if hasattr(code, "co_qualname"):
            name = f"{module}.{_qualname(code)}"
            return (name if name in self._names else None), True
        # Python < 3.11 has no co_qualname: look each candidate name up in its module. A failed
        # look-up is not cached, since the module may still be importing.
        prefix = module + "."
        candidates = [n for n in self._names if n.startswith(prefix) and n.rsplit(".", 1)[-1] == code.co_name]
        for name in candidates:
            obj: object = sys.modules.get(module)
            for part in name[len(prefix) :].split("."):
                obj = getattr(obj, part, None)
            try:
                if obj is not None and _code_of(obj) is code:
                    return name, True
            except TypeError:
                continue
        return None, not candidates


# ---------------------------------------------------------------------------------------------
# Source text


def _line_text(filename: str, lineno: int | None) -> str:
    if not lineno:
        return ""
    return linecache.getline(filename, lineno).rstrip("\r\n")


def _def_line(code: CodeType) -> int:
    """The `def` line of a function: co_firstlineno is the first decorator's line."""
    first = code.co_firstlineno
    if code.co_name.startswith("<"):  # lambdas and comprehensions have no decorators
        return first
    for lineno in range(first, first + 100):
        text = linecache.getline(code.co_filename, lineno)
        if not text:
            break
        stripped = text.lstrip()
        if stripped.startswith(("def ", "async def ")):
            return lineno
    return first


def _function_info(code: CodeType) -> dict[str, Any]:
    try:
        lines, _ = inspect.getsourcelines(code)
        source = "".join(lines)
    except Exception:  # no source file (e.g. deleted), or a block inspect cannot delimit
        source = ""
    return {
        "name": _qualname(code),
        "file": code.co_filename,
        "first_line": code.co_firstlineno,
        "def_line": _def_line(code),
        "source": source,
    }


# ---------------------------------------------------------------------------------------------
# Recording


class _Recording:
    """The mutable state of one trace while its call runs."""

    def __init__(self, trace: Trace, config: TraceConfig) -> None:
        self.trace = trace
        self.max_depth = config.max_depth if config.step_in else 0
        self.max_line_events = config.max_line_events
        self.max_bytes = config.max_bytes
        self.frames: set[FrameType] = set()  # frames of this trace still alive
        self.codes: set[int] = set()  # ids of the codes listed in trace.functions
        self.open = True  # False once truncated or failed: later events are ignored
        # The ".." rule compares with the last locals of the frame whose events came last.
        self.ctx_frame: FrameType | None = None
        self.ctx_values: dict[str, str] | None = None

    def call(self, frame: FrameType, depth: int, line: int, source: str, values: dict[str, str]) -> None:
        self.ctx_frame, self.ctx_values = frame, values
        self._add({"kind": "call", "depth": depth, "line": line, "source": source, "locals": dict(values)})

    def line(self, frame: FrameType, depth: int, line: int, source: str, values: dict[str, str]) -> None:
        if self.trace.line_events >= self.max_line_events:
            self._truncate("max_line_events")
            return
        if self.ctx_frame is frame and self.ctx_values is not None:
            previous = self.ctx_values
            shown = {name: (".." if previous.get(name) == text else text) for name, text in values.items()}
        else:
            shown = dict(values)
        self.ctx_frame, self.ctx_values = frame, values
        if self._add({"kind": "line", "depth": depth, "line": line, "source": source, "locals": shown}):
            self.trace.line_events += 1

    def leave(self, kind: str, frame: FrameType, depth: int, line: int, source: str, value: str) -> None:
        if kind == "return":
            self.ctx_frame, self.ctx_values = None, None
        elif self.ctx_frame is not frame:  # an exception arriving from a callee: restate later
            self.ctx_frame, self.ctx_values = frame, None
        self._add({"kind": kind, "depth": depth, "line": line, "source": source, "value": value})

    def fail(self, message: str) -> None:
        self.trace.status = "error"
        self.trace.error = message
        self.open = False

    def _truncate(self, reason: str) -> None:
        self.trace.status = "truncated"
        self.trace.truncation = reason
        self.open = False

    def _add(self, event: dict[str, Any]) -> bool:
        size = _json_size(event) + (2 if self.trace.events else 0)  # ", " between events
        if self.trace.bytes + size > self.max_bytes:
            self._truncate("max_bytes")
            return False
        self.trace.events.append(event)
        self.trace.bytes += size
        return True


def _refuse(obj: object) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


# json.dumps(event) with its defaults, without building an encoder per call (a third of the
# cost of an event otherwise). Events hold only str, int and dicts of str, so no cycle check.
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
if _C_ENCODER is not None:
    _C_ENCODE: Any = _C_ENCODER(
        None, _refuse, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )

    def _json_size(event: dict[str, Any]) -> int:
        return len("".join(_C_ENCODE(event, 0)))

else:  # no C accelerator (not CPython)

    def _json_size(event: dict[str, Any]) -> int:
        return len(json.dumps(event))


def _noop(code: CodeType) -> None:
    return None


class _Engine:
    """Backend-independent bookkeeping: which frames belong to which traces, and the events."""

    def __init__(self, tracer: Tracer, backend: str) -> None:
        self._tracer = tracer
        self._config = tracer.config
        self._filter = tracer._filter
        self._targets = tracer._targets
        self._backend = backend
        self._repr = _Repr(self._config.max_repr, self._config.truncation_marker)
        self._frames: dict[FrameType, list[tuple[_Recording, int]]] = {}
        self._recordings: list[_Recording] = []
        self._running = 0  # tracked frames currently executing (not suspended)
        self._code_refs: dict[int, list[Any]] = {}  # id(code) -> [code, tracked frames]
        self._infos: dict[int, tuple[CodeType, dict[str, Any]]] = {}
        self._def_lines: dict[int, tuple[CodeType, int]] = {}
        self._sources: dict[tuple[str, int], str] = {}
        self.watch: Callable[[CodeType], None] = _noop  # the backend's per-code switches
        self.unwatch: Callable[[CodeType], None] = _noop

    # -- events from the backends

    def enter(self, frame: FrameType) -> bool:
        """A frame starts or resumes; True if it is tracked."""
        slots = self._frames.get(frame)
        if slots is None:
            code = frame.f_code
            if not self._filter(code):
                self._never(code)
                return False
            slots = self._inherit(frame) if self._running else []
            name = self._targets.match(code, frame)
            if name is not None:
                recording = self._start(frame, name)
                if recording is not None:
                    slots.append((recording, 0))
            if not slots:
                if self._never_again(code, name):
                    self._never(code)
                return False
            self._track(frame, slots)
        self._running += 1
        line = self._call_line(frame)
        source = self._source(frame.f_code.co_filename, line)
        values = None
        for recording, depth in slots:
            if recording.open:
                if values is None:
                    values = self._snapshot(frame)
                self._list_function(recording, frame.f_code)
                recording.call(frame, depth, line, source, values)
        return True

    def line(self, frame: FrameType, line: int | None) -> None:
        slots = self._frames.get(frame)
        if slots is None or line is None:
            return
        source = self._source(frame.f_code.co_filename, line)
        values = None
        for recording, depth in slots:
            if recording.open:
                if values is None:
                    values = self._snapshot(frame)
                recording.line(frame, depth, line, source, values)

    def exception(self, frame: FrameType, exc: object) -> None:
        slots = self._frames.get(frame)
        if slots is not None:
            self._leave_event("exception", frame, slots, exc)

    def exit(self, frame: FrameType, kind: str, value: object) -> None:
        """The frame returns ("return"), yields ("yield") or is left by an exception ("unwind")."""
        slots = self._frames.get(frame)
        if slots is None:
            return
        self._running = max(0, self._running - 1)
        if kind != "unwind":
            self._leave_event("return", frame, slots, value)
        if kind == "yield":
            return
        self._untrack(frame)
        for recording, depth in slots:
            if depth == 0:
                self._finish(recording, "return" if kind == "return" else "exception")

    def _never_again(self, code: CodeType, name: str | None) -> bool:
        if self._config.step_in or id(code) in self._code_refs:
            return False  # it may still be recorded as a callee, or has frames recorded
        if name is None:
            return self._targets.final(code)
        return self._tracer.done(name)

    def _never(self, code: CodeType) -> None:
        # Foreign code, or (without step-in, so no frame is recorded as a callee) code that
        # starts no trace: not a target, or one whose cap is reached. That never changes for
        # the Tracer, so its backends may stop asking (see Tracer.never).
        self._tracer.never[id(code)] = code

    def fail(self, exc: BaseException) -> None:
        """An error inside the tracer: the traces in progress stop recording, the program goes on."""
        try:
            message = f"{type(exc).__name__}: {exc}"
        except Exception:
            message = type(exc).__name__
        message = message[:500]
        if len(self._tracer.errors) < _MAX_ERRORS:
            self._tracer.errors.append(message)
        for recording in self._recordings:
            if recording.open:
                recording.fail(message)

    def close_all(self) -> list[FrameType]:
        """End every trace still recording (the tracer is being removed); returns their frames."""
        frames = list(self._frames)
        for recording in list(self._recordings):
            self._finish(recording, None)
        return frames

    # -- bookkeeping

    def _inherit(self, frame: FrameType) -> list[tuple[_Recording, int]]:
        """The traces a new frame belongs to as a callee, from its nearest tracked ancestor."""
        # No trace records deeper than max_depth (0 without step-in): the walk stops there, so
        # a deep recursion below a traced call costs O(max_depth) per call, not O(stack).
        limit = self._config.max_depth if self._config.step_in else 0
        count = 1
        parent = frame.f_back
        while parent is not None and count <= limit:
            slots = self._frames.get(parent)
            if slots is not None:
                return [
                    (recording, depth + count)
                    for recording, depth in slots
                    if recording.open and depth + count <= recording.max_depth
                ]
            if self._filter(parent.f_code):  # untracked repo frames still count towards depth
                count += 1
            parent = parent.f_back
        return []

    def _start(self, frame: FrameType, name: str) -> _Recording | None:
        tracer = self._tracer
        if tracer.done(name):
            tracer.skipped[name] = tracer.skipped.get(name, 0) + 1
            return None
        tracer.started[name] = tracer.started.get(name, 0) + 1
        trace = Trace(name, frame.f_code.co_filename, self._backend, self._config)
        recording = _Recording(trace, self._config)
        self._recordings.append(recording)
        return recording

    def _track(self, frame: FrameType, slots: list[tuple[_Recording, int]]) -> None:
        self._frames[frame] = slots
        for recording, _ in slots:
            recording.frames.add(frame)
        code = frame.f_code
        ref = self._code_refs.get(id(code))
        if ref is None:
            self._code_refs[id(code)] = [code, 1]
            self.watch(code)
        else:
            ref[1] += 1

    def _untrack(self, frame: FrameType) -> None:
        slots = self._frames.pop(frame, None)
        if slots is None:
            return
        for recording, _ in slots:
            recording.frames.discard(frame)
        code = frame.f_code
        ref = self._code_refs.get(id(code))
        if ref is not None:
            ref[1] -= 1
            if ref[1] <= 0:
                del self._code_refs[id(code)]
                self.unwatch(code)

    def _finish(self, recording: _Recording, outcome: str | None) -> None:
        if recording in self._recordings:
            self._recordings.remove(recording)
        # Suspended generators of this trace stay in the map for other traces only.
        for frame in list(recording.frames):
            slots = self._frames.get(frame)
            rest = [slot for slot in slots or () if slot[0] is not recording]
            if rest:
                self._frames[frame] = rest
            else:
                self._untrack(frame)
        recording.frames.clear()
        trace = recording.trace
        trace.outcome = outcome
        if trace.status == "recording":
            trace.status = "complete" if outcome is not None else "incomplete"
        self._tracer._deliver(trace)

    def _leave_event(
        self, kind: str, frame: FrameType, slots: list[tuple[_Recording, int]], value: object
    ) -> None:
        line = frame.f_lineno
        source = self._source(frame.f_code.co_filename, line)
        text = None
        for recording, depth in slots:
            if recording.open:
                if text is None:
                    text = self._repr(value)
                recording.leave(kind, frame, depth, line or 0, source, text)

    def _source(self, filename: str, line: int | None) -> str:
        # One look-up per event instead of linecache's; sources do not change during a run.
        key = (filename, line or 0)
        text = self._sources.get(key)
        if text is None:
            text = self._sources[key] = _line_text(filename, line)
        return text

    def _snapshot(self, frame: FrameType) -> dict[str, str]:
        return {str(name): self._repr(value) for name, value in frame.f_locals.items()}

    def _call_line(self, frame: FrameType) -> int:
        # A first start reports co_firstlineno, the first decorator's line; CWM shows the def.
        code = frame.f_code
        known = self._def_lines.get(id(code))
        if known is None or known[0] is not code:
            known = (code, _def_line(code))
            self._def_lines[id(code)] = known
        line = frame.f_lineno
        if line is None or code.co_firstlineno <= line < known[1]:
            return known[1]
        return line

    def _list_function(self, recording: _Recording, code: CodeType) -> None:
        if id(code) in recording.codes:
            return
        known = self._infos.get(id(code))
        if known is None or known[0] is not code:
            known = (code, _function_info(code))
            self._infos[id(code)] = known
        recording.codes.add(id(code))
        recording.trace.functions.append(dict(known[1]))


# ---------------------------------------------------------------------------------------------
# Backends


def _opcodes(*names: str) -> frozenset[int]:
    return frozenset(opcode.opmap[name] for name in names if name in opcode.opmap)


_RETURN_OPS = _opcodes("RETURN_VALUE", "RETURN_CONST")
_YIELD_VALUE = opcode.opmap["YIELD_VALUE"]
_YIELD_FROM = opcode.opmap.get("YIELD_FROM", -1)  # 3.9 and 3.10
_RESUME = opcode.opmap.get("RESUME", -1)  # 3.11 and later


class _SettraceBackend:
    """sys.settrace: a global function for frame starts, a local one for the other events."""

    name = "settrace"

    def __init__(self, engine: _Engine, never: dict[int, CodeType]) -> None:
        self._engine = engine
        self._never = never
        self._previous: Any = None
        self._installed = False
        self._raised: set[FrameType] = set()  # frames whose latest event is an exception
        self._code_bytes: dict[int, tuple[CodeType, bytes]] = {}

    def install(self) -> None:
        self._previous = sys.gettrace()
        self._installed = True
        sys.settrace(self._on_call)

    def uninstall(self, frames: list[FrameType]) -> None:
        self._installed = False
        sys.settrace(self._previous)
        for frame in frames:
            frame.f_trace = None
        self._raised.clear()

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Any:
        # Called for every frame start in the thread: the common case must cost one look-up.
        code = frame.f_code
        if self._never.get(id(code)) is code or event != "call" or not self._installed:
            return None
        try:
            if self._engine.enter(frame):
                self._raised.discard(frame)
                return self._on_event
        except Exception as exc:
            self._engine.fail(exc)
        return None

    def _on_event(self, frame: FrameType, event: str, arg: Any) -> Any:
        if not self._installed:
            return None
        try:
            if event == "line":
                self._raised.discard(frame)
                self._engine.line(frame, frame.f_lineno)
            elif event == "exception":
                self._raised.add(frame)
                self._engine.exception(frame, arg[1])
            elif event == "return":
                kind = self._exit_kind(frame, arg)
                self._raised.discard(frame)
                self._engine.exit(frame, kind, arg)
        except Exception as exc:
            self._engine.fail(exc)
        return self._on_event

    def _exit_kind(self, frame: FrameType, arg: object) -> str:
        """settrace reports returns, yields and unwinding alike: tell them apart by the opcode."""
        code = self._bytes(frame.f_code)
        at = frame.f_lasti
        op = code[at] if 0 <= at < len(code) else -1
        if op in _RETURN_OPS:
            return "return"
        if op == _YIELD_VALUE:
            suspends = True
        elif _YIELD_FROM >= 0:  # 3.9/3.10 report `yield from` at the instruction before it
            suspends = op == _YIELD_FROM or (at + 2 < len(code) and code[at + 2] == _YIELD_FROM)
        else:  # 3.13 reports a yield at the RESUME that follows YIELD_VALUE
            suspends = op == _RESUME and at >= 2 and code[at - 2] == _YIELD_VALUE
        # An exception thrown in at a yield (throw(), close()) unwinds from the same place.
        if suspends and not (arg is None and frame in self._raised):
            return "yield"
        return "unwind"

    def _bytes(self, code: CodeType) -> bytes:
        known = self._code_bytes.get(id(code))
        if known is None or known[0] is not code:
            known = (code, code.co_code)
            self._code_bytes[id(code)] = known
        return known[1]


class _MonitoringBackend:
    """sys.monitoring (3.12+): starts, throws and exceptions globally, the rest per tracked code."""

    name = "monitoring"

    def __init__(
        self, engine: _Engine, code_filter: _CodeFilter, never: dict[int, CodeType], owner: int
    ) -> None:
        self._engine = engine
        self._filter = code_filter
        self._never = never
        self._owner = owner
        self._thread = threading.get_ident()
        self._tool: int | None = None
        self._watched: set[CodeType] = set()
        self._lines: dict[int, tuple[CodeType, dict[int, int | None]]] = {}
        events = _MONITORING.events
        # STOP_ITERATION: the StopIteration a `yield from`/`await` of a finished generator
        # would raise, which sys.settrace reports as an exception event.
        exits = events.PY_RETURN | events.PY_YIELD | events.STOP_ITERATION
        self._local_events = events.LINE | events.JUMP | exits
        self._handlers = {
            events.PY_START: self._on_start,
            events.PY_RESUME: self._on_start,
            events.PY_THROW: self._on_throw,
            events.LINE: self._on_line,
            events.JUMP: self._on_jump,
            events.PY_RETURN: self._on_return,
            events.PY_YIELD: self._on_yield,
            events.PY_UNWIND: self._on_unwind,
            events.RAISE: self._on_raise,
            events.STOP_ITERATION: self._on_raise,
        }

    def install(self) -> None:
        mon = _MONITORING
        tool = next((t for t in (4, 3, 2, 5) if mon.get_tool(t) is None), None)
        if tool is None:
            raise RuntimeError("no free sys.monitoring tool id for the tracer")
        mon.use_tool_id(tool, _TOOL_NAME)
        self._tool = tool
        global _DISABLED_BY
        if _DISABLED_BY not in (None, self._owner):
            # Locations another Tracer disabled stay disabled across tool ids (CPython keeps
            # DISABLE until restart_events): this Tracer's filter and targets may differ.
            mon.restart_events()
        _DISABLED_BY = self._owner
        try:
            for event, handler in self._handlers.items():
                mon.register_callback(tool, event, handler)
            events = mon.events
            starts = events.PY_START | events.PY_RESUME | events.PY_THROW
            mon.set_events(tool, starts | events.RAISE | events.PY_UNWIND)  # these cannot be local
        except BaseException:
            self.uninstall([])
            raise
        self._engine.watch = self._watch
        self._engine.unwatch = self._unwatch

    def uninstall(self, frames: list[FrameType]) -> None:
        mon, tool = _MONITORING, self._tool
        if tool is None:
            return
        for code in self._watched:
            mon.set_local_events(tool, code, 0)
        self._watched.clear()
        mon.set_events(tool, 0)
        for event in self._handlers:
            mon.register_callback(tool, event, None)
        mon.free_tool_id(tool)
        self._tool = None

    def _watch(self, code: CodeType) -> None:
        self._watched.add(code)
        _MONITORING.set_local_events(self._tool, code, self._local_events)

    def _unwatch(self, code: CodeType) -> None:
        self._watched.discard(code)
        _MONITORING.set_local_events(self._tool, code, 0)

    # Every handler is called from the monitored frame, so sys._getframe(1) is that frame. Only
    # the installing thread is recorded; errors are the engine's, never the program's.

    def _run(self, action: Callable[..., object], *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:
            self._engine.fail(exc)

    def _on_start(self, code: CodeType, offset: int) -> Any:
        if not self._filter(code):
            return _MONITORING.DISABLE  # never traced: stop the event at this location
        if threading.get_ident() == self._thread:
            self._run(self._engine.enter, sys._getframe(1))
            if self._never.get(id(code)) is code:
                return _MONITORING.DISABLE
        return None

    def _on_throw(self, code: CodeType, offset: int, exc: BaseException) -> None:
        # Not a local event, so it cannot be disabled like PY_START.
        if self._filter(code) and threading.get_ident() == self._thread:
            self._run(self._engine.enter, sys._getframe(1))

    def _on_line(self, code: CodeType, line: int) -> None:
        if threading.get_ident() == self._thread:
            self._run(self._engine.line, sys._getframe(1), line)

    def _on_jump(self, code: CodeType, source: int, target: int) -> Any:
        # Like the legacy tracer, a backward jump within one line is a new line event; other
        # jumps are left to LINE, and since that never changes for a location, disabled.
        lines = self._line_table(code)
        line = lines.get(target)
        if target > source or line is None or lines.get(source) != line:
            return _MONITORING.DISABLE
        if threading.get_ident() == self._thread:
            self._run(self._engine.line, sys._getframe(1), line)
        return None

    def _on_return(self, code: CodeType, offset: int, value: object) -> None:
        if threading.get_ident() == self._thread:
            self._run(self._engine.exit, sys._getframe(1), "return", value)

    def _on_yield(self, code: CodeType, offset: int, value: object) -> None:
        if threading.get_ident() == self._thread:
            self._run(self._engine.exit, sys._getframe(1), "yield", value)

    def _on_unwind(self, code: CodeType, offset: int, exc: BaseException) -> None:
        if code in self._watched and threading.get_ident() == self._thread:
            self._run(self._engine.exit, sys._getframe(1), "unwind", None)

    def _on_raise(self, code: CodeType, offset: int, exc: object) -> None:
        if code in self._watched and threading.get_ident() == self._thread:
            if not isinstance(exc, BaseException):  # STOP_ITERATION may pass the bare value
                exc = StopIteration(exc)
            self._run(self._engine.exception, sys._getframe(1), exc)

    def _line_table(self, code: CodeType) -> dict[int, int | None]:
        known = self._lines.get(id(code))
        if known is None or known[0] is not code:
            table: dict[int, int | None] = {}
            for start, end, line in code.co_lines():
                for offset in range(start, end, 2):
                    table[offset] = line
            known = (code, table)
            self._lines[id(code)] = known
        return known[1]


# ---------------------------------------------------------------------------------------------
# Public API


class Tracer:
    """Traces every call of the target functions made while installed (one trace per call).

    `targets` are "module.qualname" strings (e.g. "pkg.mod.Class.method") or functions;
    `select(code, module)`, when given, also makes a target of any code under the roots it
    names (it is asked once per code object); `roots` are the folders whose code is traced.
    Traces are delivered as their calls end (a nested call of a target first) to `on_trace`
    when given, else to `traces`; uninstalling ends the traces still open as "incomplete". Use
    as a context manager or install()/uninstall(); one Tracer may be installed many times (say,
    once per test), and its per-target cap counts calls over all of them. Installing replaces
    any sys.settrace function until uninstall (3.11 and earlier).
    """

    def __init__(
        self,
        targets: Iterable[object],
        roots: Sequence[str],
        config: TraceConfig | None = None,
        on_trace: Callable[[Trace], None] | None = None,
        select: Callable[[CodeType, str], str | None] | None = None,
    ) -> None:
        if isinstance(roots, str) or not roots:
            raise ValueError("roots must be a non-empty list of folders")
        self.config = config or TraceConfig()
        self.on_trace = on_trace
        self.traces: list[Trace] = []
        self.started: dict[str, int] = {}  # target -> traces started (across installs)
        self.retired: set[str] = set()  # targets that start no more traces (see retire)
        # target -> calls refused a trace (cap reached, or retired). Without step-in the backends
        # stop reporting a done target's calls, so this counts at least one per such target.
        self.skipped: dict[str, int] = {}
        self.errors: list[str] = []  # tracer failures (the traces concerned have status "error")
        # Codes that never start or join a trace (by id, holding the code): the backends skip
        # them at once. Kept across installs, as what decides it never changes for a Tracer.
        self.never: dict[int, CodeType] = {}
        self._serial = next(_SERIALS)
        self._filter = _CodeFilter(roots)
        self._targets = _Targets(targets, select)
        self._engine: _Engine | None = None
        self._backend: _SettraceBackend | _MonitoringBackend | None = None

    def install(self) -> None:
        if self._backend is not None:
            raise RuntimeError("the tracer is already installed")
        name = self.config.resolved_backend()
        engine = _Engine(self, name)
        backend: _SettraceBackend | _MonitoringBackend
        if name == "monitoring":
            backend = _MonitoringBackend(engine, self._filter, self.never, self._serial)
        else:
            backend = _SettraceBackend(engine, self.never)
        backend.install()
        self._engine, self._backend = engine, backend

    def uninstall(self) -> None:
        engine, backend = self._engine, self._backend
        if engine is None or backend is None:
            return
        self._engine = self._backend = None
        frames = list(engine._frames)
        backend.uninstall(frames)
        engine.close_all()

    def __enter__(self) -> Tracer:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def done(self, target: str) -> bool:
        """Whether `target` starts no more traces (its cap is reached, or it was retired)."""
        return target in self.retired or self.started.get(target, 0) >= self.config.max_traces_per_target

    def retire(self, target: str) -> None:
        """Start no more traces of `target` (its caller has all it wants); traces open go on."""
        self.retired.add(target)

    def traceable(self, fn: object) -> bool:
        """Whether the function's code lies under the roots (and so can be traced)."""
        return self._filter(_code_of(fn))

    def _deliver(self, trace: Trace) -> None:
        if self.on_trace is None:
            self.traces.append(trace)
            return
        try:
            self.on_trace(trace)
        except Exception as exc:
            if len(self.errors) < _MAX_ERRORS:
                self.errors.append(f"on_trace: {type(exc).__name__}: {exc}")


def trace_call(
    fn: Callable[..., Any],
    *args: Any,
    roots: Sequence[str],
    config: TraceConfig | None = None,
    **kwargs: Any,
) -> tuple[Any, Trace]:
    """Call fn(*args, **kwargs) and trace that call.

    Returns (the return value, or the exception fn raised, which is not re-raised; the trace).
    trace.outcome says which of the two it was. Only the outermost call of fn is a trace.
    """
    tracer = Tracer([fn], roots, _single(config))
    code = _code_of(fn)
    if not tracer._filter(code):
        raise ValueError(f"{code.co_filename} is not under the roots {list(roots)}, so it cannot be traced")
    if code.co_flags & _CO_SUSPENDABLE:
        raise ValueError("trace_call does not drive generators or coroutines: use Tracer and consume them")
    outcome: Any
    tracer.install()
    try:
        outcome = fn(*args, **kwargs)
    except Exception as exc:
        outcome = exc
    finally:
        tracer.uninstall()
    if not tracer.traces:  # only possible if the tracer failed before the entry started
        reason = "; ".join(tracer.errors) or "no trace started"
        raise RuntimeError(f"the call was not traced: {reason}")
    return outcome, tracer.traces[0]


def _single(config: TraceConfig | None) -> TraceConfig:
    base = config or TraceConfig()
    settings = asdict(base)
    settings["max_traces_per_target"] = 1
    return TraceConfig(**settings)
