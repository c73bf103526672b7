"""The interfaces that pluggable parts implement (one small module, on purpose)."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Receives progress of a long operation: stages and log lines.

    The CLI renders it with rich, the store records it for the API, tests collect it.
    """

    def stage(self, name: str, detail: str = "") -> None: ...

    def log(self, line: str) -> None: ...


class NullReporter:
    def stage(self, name: str, detail: str = "") -> None:
        pass

    def log(self, line: str) -> None:
        pass
