"""Typed SQLAlchemy 2.0 models of the store; the same schema runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLite autoincrements only an INTEGER PRIMARY KEY, so 64-bit ints are INTEGER there.
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        int: BigInteger().with_variant(Integer(), "sqlite"),
    }


class SourceRow(Base):
    """Where code comes from, as the user gave it (normalized)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    spec: Mapped[str] = mapped_column(String(2048), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    snapshots: Mapped[list[SnapshotRow]] = relationship(back_populates="source")


class SnapshotRow(Base):
    """A source at a pinned commit."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("source_id", "commit_sha"), Index("ix_snapshots_name", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    ref: Mapped[str | None] = mapped_column(String(256))
    commit_sha: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    repo_path: Mapped[str] = mapped_column(String(4096))
    file_count: Mapped[int]
    total_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    source: Mapped[SourceRow] = relationship(back_populates="snapshots")
    environments: Mapped[list[EnvironmentRow]] = relationship(back_populates="snapshot")


class EnvironmentRow(Base):
    """A (possibly failed) attempt to turn a snapshot into a verified image."""

    __tablename__ = "environments"
    __table_args__ = (Index("ix_environments_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # building | verified | failed
    reason: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[str | None] = mapped_column(String(128))
    image_tag: Mapped[str | None] = mapped_column(String(256))
    base_image: Mapped[str | None] = mapped_column(String(256))
    python_version: Mapped[str | None] = mapped_column(String(16))
    strategy: Mapped[str | None] = mapped_column(String(64))
    install_steps: Mapped[list[Any]] = mapped_column(default=list)
    test_command: Mapped[list[Any]] = mapped_column(default=list)
    test_framework: Mapped[str | None] = mapped_column(String(16))
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tests_collected: Mapped[int] = mapped_column(default=0)
    tests_passed: Mapped[int] = mapped_column(default=0)
    tests_failed: Mapped[int] = mapped_column(default=0)
    tests_skipped: Mapped[int] = mapped_column(default=0)
    tests_error: Mapped[int] = mapped_column(default=0)
    tests_flaky: Mapped[int] = mapped_column(default=0)
    image_size_bytes: Mapped[int | None]
    added_size_bytes: Mapped[int | None]
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    snapshot: Mapped[SnapshotRow] = relationship(back_populates="environments")
    attempts: Mapped[list[BuildAttemptRow]] = relationship(
        back_populates="environment", order_by="BuildAttemptRow.index", cascade="all, delete-orphan"
    )
    test_results: Mapped[list[TestResultRow]] = relationship(
        back_populates="environment", cascade="all, delete-orphan"
    )


class BuildAttemptRow(Base):
    """One strategy tried while building/validating an environment, with its log."""

    __tablename__ = "build_attempts"
    __table_args__ = (UniqueConstraint("environment_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    index: Mapped[int]
    strategy: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(24))  # running | build_failed | tests_failed | verified | ...
    reason: Mapped[str | None] = mapped_column(Text)
    dockerfile: Mapped[str] = mapped_column(Text, default="")
    build_log: Mapped[str] = mapped_column(Text, default="")
    test_log: Mapped[str] = mapped_column(Text, default="")
    image_id: Mapped[str | None] = mapped_column(String(128))
    build_s: Mapped[float | None]
    test_s: Mapped[float | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    environment: Mapped[EnvironmentRow] = relationship(back_populates="attempts")


class TestResultRow(Base):
    """Per-test baseline outcome of a verified (or failed) environment."""

    __tablename__ = "test_results"
    __table_args__ = (UniqueConstraint("environment_id", "test_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    # Parametrized ids can run to kilobytes: unique by a digest, the id itself unbounded.
    test_id: Mapped[str] = mapped_column(Text)
    test_key: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # passed | failed | skipped | error
    duration_s: Mapped[float] = mapped_column(default=0.0)
    flaky: Mapped[bool] = mapped_column(default=False)

    environment: Mapped[EnvironmentRow] = relationship(back_populates="test_results")


class TaskRow(Base):
    """A bug to fix in an environment, proven by its tests (see forager.tasks)."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("environment_id", "fingerprint"),
        Index("ix_tasks_env_family", "environment_id", "family"),
        Index("ix_tasks_family_id", "family", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # mutate_fix | issue_fix
    family: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the bug patch
    target_file: Mapped[str | None] = mapped_column(String(1024))
    target_symbol: Mapped[str | None] = mapped_column(String(512))
    line_start: Mapped[int | None]
    line_end: Mapped[int | None]
    description: Mapped[str] = mapped_column(Text, default="")
    bug_patch: Mapped[str] = mapped_column(Text)
    fix_patch: Mapped[str] = mapped_column(Text)
    fail_to_pass: Mapped[list[Any]] = mapped_column(default=list)
    pass_to_pass: Mapped[list[Any]] = mapped_column(default=list)
    problem_statement: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EpisodeRow(Base):
    """One agent run; `status` stays `running` until the last step and the result are written."""

    __tablename__ = "episodes"
    __table_args__ = (
        Index("ix_episodes_env_status", "environment_id", "status"),
        # Filtered, newest-first pages and the dashboard's aggregates (migration 0007).
        Index("ix_episodes_task_id", "task_id", "id"),
        Index("ix_episodes_exit_status_id", "exit_status", "id"),
        Index("ix_episodes_status_exit", "status", "exit_status"),
        Index("ix_episodes_finished_at", "finished_at"),
        Index("ix_episodes_policy_kind", text("(policy ->> 'kind')"), "id").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished
    exit_status: Mapped[str | None] = mapped_column(String(24))
    exit_detail: Mapped[str | None] = mapped_column(Text)
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int] = mapped_column(default=0)
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    final_patch: Mapped[str | None] = mapped_column(Text)
    reward: Mapped[float | None]
    test_results: Mapped[list[Any]] = mapped_column(default=list)
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    steps: Mapped[list[StepRow]] = relationship(
        back_populates="episode", order_by="StepRow.index", cascade="all, delete-orphan"
    )


class StepRow(Base):
    """One observation-action step, written as it happens."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("episode_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    index: Mapped[int]
    raw_output: Mapped[str] = mapped_column(Text, default="")
    tool: Mapped[str | None] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    observation: Mapped[str] = mapped_column(Text, default="")
    output: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None]
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    truncated: Mapped[bool] = mapped_column(default=False)
    timed_out: Mapped[bool] = mapped_column(default=False)
    output_bytes: Mapped[int] = mapped_column(default=0)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    llm_ms: Mapped[float] = mapped_column(default=0.0)
    exec_ms: Mapped[float] = mapped_column(default=0.0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)

    episode: Mapped[EpisodeRow] = relationship(back_populates="steps")


class FunctionCoverageRow(Base):
    """Which tests of an environment's baseline run a repository function, and its lines."""

    __tablename__ = "function_coverage"
    __table_args__ = (UniqueConstraint("environment_id", "file", "first_line", "qualname"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    file: Mapped[str] = mapped_column(String(1024))
    qualname: Mapped[str] = mapped_column(String(512))
    first_line: Mapped[int]
    tests: Mapped[list[Any]] = mapped_column(default=list)
    lines: Mapped[list[Any]] = mapped_column(default=list)


class SubmissionRow(Base):
    """A user's request to harvest a source; the pipeline's stage progress lives here."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(2048))
    ref: Mapped[str | None] = mapped_column(String(256))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed|cancelled
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("environments.id", ondelete="SET NULL"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiKeyRow(Base):
    """An API key, stored only as a peppered hash; `prefix` identifies it in logs and lists."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[Any]] = mapped_column(default=list)  # read | submit | admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class TraceRow(Base):
    """A function-level execution trace cut out of a test's run (forager.traces).

    `trace` is the runtime's JSON (format forager.trace/1); CWM's token text is rendered from
    it on read, so a change of rendering needs no rewrite of stored rows.
    """

    __tablename__ = "traces"
    __table_args__ = (Index("ix_traces_environment_id", "environment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    test_id: Mapped[str] = mapped_column(Text)
    function: Mapped[str] = mapped_column(String(512))  # module.qualname
    file: Mapped[str] = mapped_column(String(1024))  # relative to the repository root
    first_line: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # complete | truncated | incomplete | error
    outcome: Mapped[str | None] = mapped_column(String(16))  # return | exception
    events: Mapped[int]
    line_events: Mapped[int]
    bytes: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of function + events
    trace: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
