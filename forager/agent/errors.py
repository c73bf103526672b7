"""Exceptions of the agent package; the loop's control flow ends by them."""

from __future__ import annotations

from forager.errors import ForagerError


class AgentError(ForagerError):
    """Root of the agent's errors."""


class FormatError(AgentError):
    """A reply could not be parsed into exactly one valid action."""


class ToolError(AgentError):
    """A tool call was well-formed but cannot be carried out (shown to the policy)."""


class PolicyError(AgentError):
    """The policy failed for good (non-transient HTTP error, retries used up)."""


class EpisodeEnd(AgentError):
    """Ends the loop with an exit status."""

    def __init__(self, status: str, detail: str = "") -> None:
        super().__init__(detail or status)
        self.status = status
        self.detail = detail


class Submitted(EpisodeEnd):
    def __init__(self, detail: str = "") -> None:
        super().__init__("submitted", detail)


class LimitsExceeded(EpisodeEnd):
    pass
