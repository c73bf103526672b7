"""Configuration of a sandbox: the container's limits and the command output budget."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from forager.config import Settings


class SandboxConfig(BaseModel):
    """One container per episode, run by the local Docker engine (the only kind so far)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["docker"] = "docker"

    # Container limits. No network unless asked: repository code is untrusted.
    network_mode: str = "none"
    memory: str = Field(default="4g", description="mem_limit; swap is off (memswap_limit equal)")
    pids_limit: int = Field(default=1024, ge=16)
    cpus: float = Field(default=2.0, gt=0)
    log_driver: Literal["json-file", "local", "none"] = "json-file"
    log_max_size: str = "1m"
    workdir: str | None = Field(default=None, description="initial directory; None keeps the image's")
    user: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict, description="extra labels, e.g. a test run id")
    python: str = Field(default="python3", description="interpreter (3.9+) that runs the shell server")

    # Commands and their output.
    default_timeout_s: float = Field(default=120.0, gt=0)
    show_head_bytes: int = Field(default=8 * 1024, ge=0)
    show_tail_bytes: int = Field(default=8 * 1024, ge=0)
    store_max_bytes: int = Field(default=1024 * 1024, ge=0, description="raw output kept (head + tail)")

    # Liveness: how long past a command's own limit the server may stay silent.
    answer_margin_s: float = Field(default=15.0, gt=0)
    start_timeout_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _shown_within_stored(self) -> SandboxConfig:
        # Stored output is split in halves; each shown part must come from its half.
        half = self.store_max_bytes // 2
        if self.show_head_bytes > half or self.show_tail_bytes > self.store_max_bytes - half:
            raise ValueError("show_head_bytes and show_tail_bytes must each fit in half of store_max_bytes")
        return self

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> SandboxConfig:
        """Limits shared with validation runs (FORAGER_CONTAINER_*), plus overrides."""
        values: dict[str, object] = {
            "memory": settings.container_memory,
            "pids_limit": settings.container_pids,
            "cpus": settings.container_cpus,
        }
        values.update(overrides)
        return cls.model_validate(values)
