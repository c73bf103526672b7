"""Reading and writing sources, snapshots, environments and their attempts."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from forager.errors import NotFoundError
from forager.sources.ingest import Snapshot
from forager.store.db import session_scope
from forager.store.models import (
    BuildAttemptRow,
    EnvironmentRow,
    SnapshotRow,
    SourceRow,
    TestResultRow,
    utcnow,
)
from forager.validate.models import Baseline


def test_key(test_id: str) -> str:
    return hashlib.sha256(test_id.encode()).hexdigest()


class EnvironmentStore:
    """Short transactions per call, so progress is visible to other readers as it happens."""

    def __init__(self, url: str) -> None:
        self.url = url

    def save_snapshot(self, snap: Snapshot) -> int:
        with session_scope(self.url) as s:
            source = s.scalar(select(SourceRow).where(SourceRow.spec == snap.source.spec))
            if source is None:
                source = SourceRow(spec=snap.source.spec, kind=snap.source.kind)
                s.add(source)
                s.flush()
            row = s.scalar(
                select(SnapshotRow).where(
                    SnapshotRow.source_id == source.id, SnapshotRow.commit_sha == snap.commit_sha
                )
            )
            if row is None:
                row = SnapshotRow(
                    source_id=source.id,
                    commit_sha=snap.commit_sha,
                    ref=snap.ref,
                    name=snap.name,
                    repo_path=str(snap.repo_dir),
                    file_count=snap.file_count,
                    total_bytes=snap.total_bytes,
                )
                s.add(row)
                s.flush()
            else:
                row.repo_path = str(snap.repo_dir)
            return row.id

    def create_environment(self, snapshot_id: int, profile: dict[str, object]) -> int:
        with session_scope(self.url) as s:
            env = EnvironmentRow(
                snapshot_id=snapshot_id,
                status="building",
                profile=profile,
                install_steps=[],
                test_command=[],
                timings={},
            )
            s.add(env)
            s.flush()
            return env.id

    def start_attempt(
        self, env_id: int, index: int, strategy: str, why: str, plan: dict[str, object], dockerfile: str
    ) -> int:
        with session_scope(self.url) as s:
            row = BuildAttemptRow(
                environment_id=env_id,
                index=index,
                strategy=strategy,
                why=why,
                plan=plan,
                status="building",
                dockerfile=dockerfile,
            )
            s.add(row)
            s.flush()
            return row.id

    def append_build_log(self, attempt_id: int, text: str) -> None:
        with session_scope(self.url) as s:
            row = s.get_one(BuildAttemptRow, attempt_id)
            row.build_log = (row.build_log or "") + text

    def finish_attempt(self, attempt_id: int, **fields: object) -> None:
        with session_scope(self.url) as s:
            row = s.get_one(BuildAttemptRow, attempt_id)
            for k, v in fields.items():
                setattr(row, k, v)
            row.finished_at = utcnow()

    def finish_environment(self, env_id: int, baseline: Baseline | None, **fields: object) -> None:
        with session_scope(self.url) as s:
            env = s.get_one(EnvironmentRow, env_id)
            for k, v in fields.items():
                setattr(env, k, v)
            if baseline is not None:
                s.query(TestResultRow).filter(TestResultRow.environment_id == env_id).delete()
                s.add_all(
                    TestResultRow(
                        environment_id=env_id,
                        test_id=t.test_id,
                        test_key=test_key(t.test_id),
                        outcome=t.outcome,
                        duration_s=t.duration_s,
                        flaky=t.flaky,
                    )
                    for t in baseline.tests
                )
                env.tests_collected = baseline.collected
                env.tests_passed = baseline.passed
                env.tests_failed = baseline.failed
                env.tests_skipped = baseline.skipped
                env.tests_error = baseline.errors
                env.tests_flaky = baseline.flaky

    def snapshot(self, snapshot_id: int) -> SnapshotRow:
        with session_scope(self.url) as s:
            row = s.get(SnapshotRow, snapshot_id)
            if row is None:
                raise NotFoundError(f"no snapshot with id {snapshot_id}")
            return row

    def find_verified(self, snapshot_id: int) -> int | None:
        """The newest verified environment of a snapshot, if any."""
        with session_scope(self.url) as s:
            return s.scalar(
                select(EnvironmentRow.id)
                .where(EnvironmentRow.snapshot_id == snapshot_id, EnvironmentRow.status == "verified")
                .order_by(EnvironmentRow.id.desc())
                .limit(1)
            )

    def get(self, env_id: int) -> EnvironmentRow:
        with session_scope(self.url) as s:
            env = s.scalar(
                select(EnvironmentRow)
                .where(EnvironmentRow.id == env_id)
                .options(
                    selectinload(EnvironmentRow.attempts),
                    selectinload(EnvironmentRow.snapshot).selectinload(SnapshotRow.source),
                )
            )
            if env is None:
                raise NotFoundError(f"no environment with id {env_id}")
            return env

    def test_results(self, env_id: int) -> Sequence[TestResultRow]:
        with session_scope(self.url) as s:
            return s.scalars(
                select(TestResultRow)
                .where(TestResultRow.environment_id == env_id)
                .order_by(TestResultRow.test_id)
            ).all()

    def list(self, status: str | None = None, limit: int = 100, offset: int = 0) -> Sequence[EnvironmentRow]:
        with session_scope(self.url) as s:
            q = (
                select(EnvironmentRow)
                .options(
                    selectinload(EnvironmentRow.snapshot).selectinload(SnapshotRow.source),
                    selectinload(EnvironmentRow.attempts),
                )
                .order_by(EnvironmentRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            if status:
                q = q.where(EnvironmentRow.status == status)
            return s.scalars(q).all()

    def session(self) -> Session:
        from forager.store.db import session_factory

        return session_factory(self.url)()
