"""Builders for expected trace events, so tests can compare whole event lists with ==."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOTS = [str(Path(__file__).resolve().parent)]


def first_line(fn: Any) -> int:
    return int(fn.__code__.co_firstlineno)


def call(line: int, source: str, locals_: dict[str, str], depth: int = 0) -> dict[str, Any]:
    return {"kind": "call", "depth": depth, "line": line, "source": source, "locals": locals_}


def line(line: int, source: str, locals_: dict[str, str], depth: int = 0) -> dict[str, Any]:
    return {"kind": "line", "depth": depth, "line": line, "source": source, "locals": locals_}


def ret(line: int, source: str, value: str, depth: int = 0) -> dict[str, Any]:
    return {"kind": "return", "depth": depth, "line": line, "source": source, "value": value}


def exc(line: int, source: str, value: str, depth: int = 0) -> dict[str, Any]:
    return {"kind": "exception", "depth": depth, "line": line, "source": source, "value": value}
