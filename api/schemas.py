"""Request and response bodies: pydantic at the HTTP boundary."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from forager.envs.models import EnvironmentSummary
from forager.pipeline.options import HarvestOptions
from forager.tasks.mutations.models import FAMILIES

T = TypeVar("T")

# The worker points the openai policy at the service's own endpoint; a submitter who could set
# these would make workers call (and send prompts to) any host, or leak a key into the store.
SERVICE_OWNED_POLICY_FIELDS = ("base_url", "api_key")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitRequest(Body):
    source: str = Field(
        min_length=1,
        max_length=2048,
        description="https git URL or pypi:NAME==VERSION (other kinds only where the service allows them)",
        examples=["pypi:attrs==25.3.0", "https://github.com/pallets/click.git"],
    )
    ref: str | None = Field(default=None, max_length=256, description="branch, tag or commit (git sources)")
    options: HarvestOptions = Field(default_factory=HarvestOptions)

    @field_validator("options", mode="before")
    @classmethod
    def _service_owned_fields(cls, value: Any) -> Any:
        if isinstance(value, dict):
            policy = value.get("policy")
            if isinstance(policy, dict) and policy.get("type") == "openai":
                given = sorted(set(policy) & set(SERVICE_OWNED_POLICY_FIELDS))
                if given:
                    raise PydanticCustomError(
                        "service_owned_field",
                        "policy fields {fields} are set by the service and cannot be submitted",
                        {"fields": ", ".join(given)},
                    )
        return value

    @field_validator("options")
    @classmethod
    def _known_families(cls, value: HarvestOptions) -> HarvestOptions:
        unknown = sorted(set(value.task_families or ()) - set(FAMILIES))
        if unknown:
            raise PydanticCustomError(
                "unknown_family",
                "unknown task families {unknown}; known: {known}",
                {"unknown": ", ".join(unknown), "known": ", ".join(FAMILIES)},
            )
        return value

    def stored_options(self) -> dict[str, Any]:
        """The options as the worker will read them back (service-owned fields left out)."""
        return self.options.model_dump(mode="json", exclude={"policy": set(SERVICE_OWNED_POLICY_FIELDS)})


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_after_id: int | None = Field(description="pass as after_id for the next page; null on the last")
    links: dict[str, str | None] = Field(default_factory=dict)


class SubmissionAccepted(BaseModel):
    id: int
    status: str
    links: dict[str, str]
    note: str | None = None


class Submission(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    ref: str | None
    status: str
    stage: str
    progress: dict[str, dict[str, Any]]
    error: str | None
    cancel_requested: bool
    snapshot_id: int | None
    environment_id: int | None
    options: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CancelAccepted(BaseModel):
    id: int
    status: str
    cancel_requested: bool


class EnvironmentItem(BaseModel):
    id: int
    name: str
    source: str
    commit_sha: str
    status: str
    reason: str | None
    python: str | None
    image_tag: str | None
    strategy: str | None
    tests_collected: int
    tests_passed: int
    tests_failed: int
    created_at: datetime
    updated_at: datetime


class AttemptLogLink(BaseModel):
    index: int
    started_at: datetime
    finished_at: datetime | None
    log: str


class EnvironmentDetail(EnvironmentSummary):
    """The environment summary (`forager.environment/1`) plus where each attempt's log is."""

    created_at: datetime
    updated_at: datetime
    attempt_logs: list[AttemptLogLink] = Field(default_factory=list)


class TestOutcome(BaseModel):
    id: int
    test_id: str
    outcome: str
    duration_s: float
    flaky: bool


class TaskItem(BaseModel):
    id: int
    environment_id: int
    kind: str
    family: str
    target_file: str | None
    target_symbol: str | None
    line_start: int | None
    line_end: int | None
    description: str
    created_at: datetime


class Task(TaskItem):
    model_config = ConfigDict(from_attributes=True)

    fingerprint: str
    bug_patch: str
    fix_patch: str
    fail_to_pass: list[Any]
    pass_to_pass: list[Any]
    problem_statement: str
    meta: dict[str, Any]


class EpisodeItem(BaseModel):
    id: int
    environment_id: int
    task_id: int | None
    status: str
    exit_status: str | None
    policy: dict[str, Any]
    seed: int
    reward: float | None
    totals: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None


class Episode(EpisodeItem):
    model_config = ConfigDict(from_attributes=True)

    exit_detail: str | None
    limits: dict[str, Any]
    final_patch: str | None
    test_results: list[Any]
    links: dict[str, str] = Field(default_factory=dict)


class Check(BaseModel):
    ok: bool
    required: bool
    ms: float
    error: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, Check]
