"""The environment summary: what `forager env build` reports (the CLI's --json)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from forager.store.models import EnvironmentRow

MB = 1024 * 1024


class AttemptSummary(BaseModel):
    index: int
    strategy: str
    why: str
    status: str
    reason: str | None
    python: str | None
    build_s: float | None
    test_s: float | None


class EnvironmentSummary(BaseModel):
    """`format: forager.environment/1`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["forager.environment/1"] = "forager.environment/1"
    id: int
    source: str
    name: str
    commit_sha: str
    status: Literal["verified", "failed", "building"]
    reason: str | None
    python: str | None
    base_image: str | None
    image_tag: str | None
    image_id: str | None
    strategy: str | None
    install_steps: list[str]
    test_command: list[str]
    tests_collected: int
    tests_passed: int
    tests_failed: int
    tests_skipped: int
    tests_error: int
    tests_flaky: int
    image_size_mb: float | None
    added_size_mb: float | None
    attempts: int
    attempt_log: list[AttemptSummary] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def from_row(cls, env: EnvironmentRow) -> EnvironmentSummary:
        snap = env.snapshot
        return cls(
            id=env.id,
            source=snap.source.spec,
            name=snap.name,
            commit_sha=snap.commit_sha,
            status=env.status,
            reason=env.reason,
            python=env.python_version,
            base_image=env.base_image,
            image_tag=env.image_tag,
            image_id=env.image_id,
            strategy=env.strategy,
            install_steps=[str(s) for s in env.install_steps],
            test_command=[str(s) for s in env.test_command],
            tests_collected=env.tests_collected,
            tests_passed=env.tests_passed,
            tests_failed=env.tests_failed,
            tests_skipped=env.tests_skipped,
            tests_error=env.tests_error,
            tests_flaky=env.tests_flaky,
            image_size_mb=round(env.image_size_bytes / MB, 1) if env.image_size_bytes else None,
            added_size_mb=round(env.added_size_bytes / MB, 1) if env.added_size_bytes is not None else None,
            attempts=len(env.attempts),
            attempt_log=[
                AttemptSummary(
                    index=a.index,
                    strategy=a.strategy,
                    why=a.why,
                    status=a.status,
                    reason=a.reason,
                    python=str(a.plan.get("python")) if a.plan else None,
                    build_s=a.build_s,
                    test_s=a.test_s,
                )
                for a in env.attempts
            ],
            timings={k: float(v) for k, v in (env.timings or {}).items()},
        )
