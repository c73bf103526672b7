"""The interfaces that pluggable parts implement (one small module, on purpose)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from forager.agent.models import Action, PolicyInfo


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


class PolicyReply(BaseModel):
    """What a policy answers for one step."""

    raw_output: str
    action: Action | None = None
    format_error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0


class Policy(Protocol):
    """Chooses the next action. It keeps its own view of the conversation."""

    info: PolicyInfo

    def start(self, system: str, task: str, seed: int) -> None: ...

    def act(self) -> PolicyReply: ...

    def observe(self, text: str) -> None: ...
