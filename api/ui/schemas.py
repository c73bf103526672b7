"""What the dashboard's data endpoints answer (pydantic at the HTTP boundary)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Me(BaseModel):
    name: str
    prefix: str
    scopes: list[str]


class WorkerInfo(BaseModel):
    name: str
    queues: list[str]
    active: int = Field(description="jobs it is running now")


class QueueState(BaseModel):
    """The broker as last seen by the API's monitor thread (refreshed every few seconds)."""

    checked_at: datetime | None = Field(description="null until the first check finished")
    broker_up: bool | None
    depths: dict[str, int] = Field(default_factory=dict)
    workers: list[WorkerInfo] | None = Field(default=None, description="null: workers not checked yet")
    error: str | None = None


class TimeSeries(BaseModel):
    """Counts per time bucket: `starts[i]` opens bucket i; each series has one count per bucket."""

    bucket_s: int
    starts: list[datetime]
    series: dict[str, list[int]]


class Overview(BaseModel):
    now: datetime
    submissions: dict[str, int]
    environments: dict[str, int]
    episodes: dict[str, int]
    episodes_per_min: float = Field(description="finished episodes per minute over the last 10 minutes")
    throughput: TimeSeries = Field(description="episodes finished per minute, last hour")
    failures: TimeSeries = Field(description="failures per hour by '<kind>:<reason>', last day")
    queues: QueueState | None = None


class Histogram(BaseModel):
    edges: list[float] = Field(description="bucket i holds values in [edges[i], edges[i+1])")
    counts: dict[str, list[int]]
    sample: int = Field(description="values counted")


class VerifiedShare(BaseModel):
    submission_id: int
    source: str
    environment_id: int
    episodes: int
    verified: int = Field(description="finished episodes whose patch made the tests pass (reward 1)")


class Plots(BaseModel):
    verified_share: list[VerifiedShare]
    tasks_per_family: dict[str, int]
    exit_status: dict[str, int]
    episode_length: Histogram
    step_latency: Histogram


class StepView(BaseModel):
    """One trajectory step as the viewer shows it (the full output is fetched on demand)."""

    index: int
    raw_output: str
    tool: str | None
    args: dict[str, Any]
    error: str | None
    observation: str
    has_full_output: bool
    exit_code: int | None
    duration_ms: float
    truncated: bool
    timed_out: bool
    output_bytes: int
    prompt_tokens: int
    completion_tokens: int
    llm_ms: float
    exec_ms: float
    started_at: datetime
    finished_at: datetime
    diff: str | None = Field(description="the file edit as a unified diff (edit, create, insert)")


class StepPage(BaseModel):
    episode_id: int
    total: int = Field(description="steps stored so far")
    items: list[StepView]
    next_index: int | None = Field(description="from_index of the next page; null on the last")


class FamilyCount(BaseModel):
    family: str
    kind: str
    tasks: int


class EnvironmentRowView(BaseModel):
    id: int
    name: str
    source: str
    commit_sha: str
    status: str
    reason: str | None
    python: str | None
    tests_collected: int
    tests_passed: int
    tests_failed: int
    tests_skipped: int
    tests_error: int
    tests_flaky: int
    image_size_bytes: int | None
    timings: dict[str, Any]
    attempts: int
    created_at: datetime
