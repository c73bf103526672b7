"""The sandbox's exception family (under the package root `ForagerError`)."""

from __future__ import annotations

from forager.errors import ForagerError


class SandboxError(ForagerError):
    """Root of every error raised on purpose by `forager.sandbox`."""


class SandboxStartError(SandboxError):
    """The container or its shell server could not be started."""


class SandboxDeadError(SandboxError):
    """The container or its shell server died or stopped answering; the episode must end
    (exit status `env_error`)."""


class SandboxOpError(SandboxError):
    """An operation failed inside a live sandbox (missing file, cannot fork under the pids
    limit, ...); the sandbox stays usable and the message can be shown to the agent."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno
