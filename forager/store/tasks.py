"""Reading and writing tasks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from forager.errors import NotFoundError
from forager.store.db import session_scope
from forager.store.models import TaskRow


class TaskStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def add(self, row: TaskRow) -> int | None:
        """Insert unless the environment already has a task with the same bug patch."""
        values = {c.name: getattr(row, c.name) for c in TaskRow.__table__.columns if c.name not in ("id",)}
        values = {k: v for k, v in values.items() if v is not None}
        with session_scope(self.url) as s:
            insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert  # type: ignore[union-attr]
            stmt = (
                insert(TaskRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["environment_id", "fingerprint"])
                .returning(TaskRow.id)
            )
            return s.scalar(stmt)

    def get(self, task_id: int) -> TaskRow:
        with session_scope(self.url) as s:
            row = s.get(TaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no task with id {task_id}")
            return row

    def list(
        self, environment_id: int | None = None, family: str | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[TaskRow]:
        with session_scope(self.url) as s:
            q = select(TaskRow).order_by(TaskRow.id).limit(limit).offset(offset)
            if environment_id is not None:
                q = q.where(TaskRow.environment_id == environment_id)
            if family:
                q = q.where(TaskRow.family == family)
            return s.scalars(q).all()

    def count_by_family(self, environment_id: int) -> dict[str, int]:
        with session_scope(self.url) as s:
            rows = s.execute(
                select(TaskRow.family, func.count())
                .where(TaskRow.environment_id == environment_id)
                .group_by(TaskRow.family)
            ).all()
            return {fam: int(n) for fam, n in rows}
