"""Submissions: status, stage and per-stage progress of a harvest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from forager.errors import NotFoundError
from forager.store.db import session_scope
from forager.store.models import SubmissionRow, utcnow

STAGES = ("ingest", "build", "tasks", "episodes")
TERMINAL = ("done", "failed", "cancelled")


class SubmissionStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def create(
        self, source: str, ref: str | None, options: dict[str, Any], api_key_id: int | None = None
    ) -> int:
        with session_scope(self.url) as s:
            row = SubmissionRow(
                source=source,
                ref=ref,
                options=options,
                status="queued",
                stage="queued",
                progress={st: {"status": "pending"} for st in STAGES},
                api_key_id=api_key_id,
            )
            s.add(row)
            s.flush()
            return row.id

    def get(self, submission_id: int) -> SubmissionRow:
        with session_scope(self.url) as s:
            row = s.get(SubmissionRow, submission_id)
            if row is None:
                raise NotFoundError(f"no submission with id {submission_id}")
            return row

    def list(self, status: str | None = None, limit: int = 50, offset: int = 0) -> Sequence[SubmissionRow]:
        with session_scope(self.url) as s:
            q = select(SubmissionRow).order_by(SubmissionRow.id.desc()).limit(limit).offset(offset)
            if status:
                q = q.where(SubmissionRow.status == status)
            return s.scalars(q).all()

    def stage(self, submission_id: int, stage: str, status: str = "running", **info: Any) -> None:
        """Mark a stage's state; the submission runs while any stage does."""
        with session_scope(self.url) as s:
            row = s.get_one(SubmissionRow, submission_id, with_for_update=True)
            progress = dict(row.progress or {})
            entry = dict(progress.get(stage, {}))
            entry.update(status=status, **info)
            entry.setdefault("started_at", utcnow().isoformat())
            if status in ("done", "failed", "skipped"):
                entry["finished_at"] = utcnow().isoformat()
            progress[stage] = entry
            row.progress = progress
            row.stage = stage
            if row.status == "queued":
                row.status = "running"

    def set(self, submission_id: int, **fields: Any) -> None:
        with session_scope(self.url) as s:
            s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == submission_id)
                .values(**fields, updated_at=utcnow())
            )

    def finish(self, submission_id: int, status: str, error: str | None = None) -> None:
        with session_scope(self.url) as s:
            row = s.get_one(SubmissionRow, submission_id)
            if row.status in TERMINAL:
                return
            row.status, row.error = status, error
            row.stage = "done" if status == "done" else row.stage

    def request_cancel(self, submission_id: int) -> SubmissionRow:
        with session_scope(self.url) as s:
            row = s.get(SubmissionRow, submission_id)
            if row is None:
                raise NotFoundError(f"no submission with id {submission_id}")
            if row.status not in TERMINAL:
                row.cancel_requested = True
            return row

    def cancelled(self, submission_id: int) -> bool:
        with session_scope(self.url) as s:
            return bool(
                s.scalar(select(SubmissionRow.cancel_requested).where(SubmissionRow.id == submission_id))
            )
