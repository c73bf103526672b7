"""Shared CLI helpers: one console, and turning Forager errors into clean exits."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import structlog
import typer
from rich.console import Console

from forager.errors import ForagerError

# Wide enough for summary tables when output goes to a file or CI log.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out = Console(width=None if sys.stdout.isatty() else 160)
T = TypeVar("T")
log = structlog.get_logger("forager.cli")


def run_guarded(fn: Callable[[], T]) -> T:
    """Run fn; a ForagerError becomes a one-line message and exit code 2."""
    try:
        return fn()
    except ForagerError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
