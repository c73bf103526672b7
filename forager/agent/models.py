"""The trajectory contract, `format: forager.trajectory/1` (pydantic at every boundary)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExitStatus = Literal[
    "submitted", "step_limit", "time_limit", "token_limit", "format_error", "env_error", "policy_error"
]
TRAJECTORY_FORMAT = "forager.trajectory/1"


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(default=50, ge=1)
    max_wall_s: float = Field(default=1800.0, gt=0)
    max_tokens: int = Field(default=400_000, ge=1, description="prompt + completion tokens over the episode")
    command_timeout_s: float = Field(default=120.0, gt=0)
    format_retries: int = Field(
        default=3, ge=1, description="consecutive unparsable replies before giving up"
    )
    shown_output_bytes: int = Field(default=8_192, description="head+tail of output shown to the policy")
    stored_output_bytes: int = Field(default=1_048_576, description="output kept in the store per step")


class PolicyInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    model: str | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class Observation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="what the policy is shown")
    output: str | None = Field(default=None, description="full output as stored (bounded), when it differs")
    exit_code: int | None = None
    duration_ms: float = 0.0
    truncated: bool = False
    timed_out: bool = False
    output_bytes: int = 0


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    raw_output: str
    action: Action | None
    observation: Observation
    error: str | None = Field(default=None, description="format error of the reply, if any")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0
    exec_ms: float = 0.0
    started_at: datetime
    finished_at: datetime


class TestResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    test_id: str
    outcome: str
    expected: str | None = None


class Totals(BaseModel):
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0
    exec_ms: float = 0.0
    wall_s: float = 0.0


class Trajectory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["forager.trajectory/1"] = "forager.trajectory/1"
    episode_id: int
    environment_id: int
    task_id: int | None
    policy: PolicyInfo
    seed: int
    limits: Limits
    status: Literal["running", "finished"]
    exit_status: ExitStatus | None
    exit_detail: str | None = None
    final_patch: str | None
    reward: float | None
    test_results: list[TestResult] = Field(default_factory=list)
    totals: Totals
    started_at: datetime
    finished_at: datetime | None
    steps: list[StepRecord] = Field(default_factory=list)
