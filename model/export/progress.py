"""Progress of a running export, for the CLI's progress bar or a worker's task state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ExportProgress:
    considered: int = 0
    exported: int = 0
    steps_read: int = 0
    last_episode_id: int = 0
    elapsed_s: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)


class ProgressSink(Protocol):
    """Told after each batch; raising from it aborts the export (nothing is committed)."""

    def update(self, progress: ExportProgress) -> None: ...
