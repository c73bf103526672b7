"""Sandboxes for agent episodes: one locked-down container per episode, a shell server in it.

- `lifecycle`: start / health / stop / sweep containers (no command execution).
- `session.Sandbox`: the client — `run`, `read_file`, `write_file`, `alive`, `close`.
- `pool.SandboxPool`: pre-started sandboxes per image for fast episode start-up.
- `server/forager_shell.py`: the stdlib-only server copied into each container.
"""

from forager.sandbox.config import SandboxConfig
from forager.sandbox.errors import SandboxDeadError, SandboxError, SandboxOpError, SandboxStartError
from forager.sandbox.lifecycle import (
    is_healthy,
    remove_container,
    sandbox_session,
    start_sandbox,
    sweep_orphans,
)
from forager.sandbox.models import CommandResult
from forager.sandbox.pool import SandboxPool
from forager.sandbox.session import Sandbox

__all__ = [
    "CommandResult",
    "Sandbox",
    "SandboxConfig",
    "SandboxDeadError",
    "SandboxError",
    "SandboxOpError",
    "SandboxPool",
    "SandboxStartError",
    "is_healthy",
    "remove_container",
    "sandbox_session",
    "start_sandbox",
    "sweep_orphans",
]
