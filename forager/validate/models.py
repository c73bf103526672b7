"""Per-test outcomes and the result of validating an image."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["passed", "failed", "skipped", "error"]


class TestOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    test_id: str
    outcome: Outcome
    duration_s: float = 0.0
    flaky: bool = False
    message: str | None = None


class SuiteRun(BaseModel):
    """One run of the suite in a fresh container."""

    exit_code: int | None
    timed_out: bool
    seconds: float
    outcomes: list[TestOutcome]
    log_tail: str


class Baseline(BaseModel):
    """The merged outcome of all runs: a test is flaky when its runs disagree."""

    model_config = ConfigDict(extra="forbid")

    tests: list[TestOutcome] = Field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    log_tail: str = ""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for t in self.tests if t.outcome == outcome and not t.flaky)

    @property
    def collected(self) -> int:
        return len(self.tests)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def flaky(self) -> int:
        return sum(1 for t in self.tests if t.flaky)
