"""What a submission asks for."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from forager.agent.policies import ExplorerPolicyConfig, PolicyConfig


class HarvestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_families: list[str] | None = Field(default=None, description="mutation families (default: all)")
    max_tasks: int = Field(default=20, ge=0, le=2000)
    history_tasks: bool = Field(default=True, description="issue-fix tasks from the git history")
    policy: PolicyConfig = Field(default_factory=ExplorerPolicyConfig)
    episodes_per_task: int = Field(default=1, ge=0, le=16)
    max_task_episodes: int = Field(default=10, ge=0, le=10_000, description="tasks that get episodes")
    explore_episodes: int = Field(default=1, ge=0, le=16, description="episodes with no task")
    traces: bool = Field(default=False, description="collect execution traces of the test suite")
    max_traces: int = Field(default=2000, ge=1, le=100_000, description="traces kept per environment")
    max_steps: int = Field(default=30, ge=1, le=500)
    max_wall_s: float = Field(default=900.0, gt=0, le=24 * 3600)
    seed: int = 0
