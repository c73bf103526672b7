"""Rich progress for the CLI: a live status line per stage, build log tail underneath."""

from __future__ import annotations

import time
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text


class RichReporter:
    """Implements forager.protocols.Reporter for a terminal."""

    def __init__(self, console: Console, title: str, verbose: bool = False, tail: int = 4) -> None:
        self.console = console
        self.title = title
        self.verbose = verbose
        self.t0 = time.monotonic()
        self.current = "starting"
        self.lines: deque[str] = deque(maxlen=tail)
        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> RichReporter:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _render(self) -> Group:
        elapsed = time.monotonic() - self.t0
        head = Spinner(
            "dots",
            text=Text.assemble((self.title, "bold"), f"  {self.current}  ", (f"{elapsed:5.0f}s", "dim")),
        )
        return Group(head, *(Text("    " + ln[:150], style="dim") for ln in self.lines))

    def stage(self, name: str, detail: str = "") -> None:
        self.current = f"{name}: {detail}" if detail else name
        elapsed = time.monotonic() - self.t0
        self.console.print(f"[dim]{elapsed:6.1f}s[/] [cyan]{self.title}[/] {self.current}")
        self.lines.clear()
        self.live.update(self._render())

    def log(self, line: str) -> None:
        if not line.strip():
            return
        if self.verbose:
            self.console.print(Text("    " + line, style="dim"))
        self.lines.append(line)
        self.live.update(self._render())
