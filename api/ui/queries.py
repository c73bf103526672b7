"""The dashboard's lists and trajectory pages (aggregates live in aggregates.py).

Plain functions of a session; routes stay thin. Lists page by id with the API's keyset
listings; a trajectory pages by step index, as fast deep in a long episode as at its start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import PageParams
from api.queries import LISTINGS, Cursor, Listing, fetch_page
from api.ui.diffs import edit_diff
from api.ui.schemas import (
    EnvironmentRowView,
    FamilyCount,
    StepPage,
    StepView,
)
from forager.errors import NotFoundError
from forager.store.models import (
    BuildAttemptRow,
    EnvironmentRow,
    EpisodeRow,
    SnapshotRow,
    SourceRow,
    StepRow,
    TaskRow,
    TestResultRow,
)

LISTINGS["ui.environments"] = Listing(
    columns=(
        EnvironmentRow.id,
        SnapshotRow.name,
        SourceRow.spec.label("source"),
        SnapshotRow.commit_sha,
        EnvironmentRow.status,
        EnvironmentRow.reason,
        EnvironmentRow.python_version.label("python"),
        EnvironmentRow.tests_collected,
        EnvironmentRow.tests_passed,
        EnvironmentRow.tests_failed,
        EnvironmentRow.tests_skipped,
        EnvironmentRow.tests_error,
        EnvironmentRow.tests_flaky,
        EnvironmentRow.image_size_bytes,
        EnvironmentRow.timings,
        select(func.count())
        .where(BuildAttemptRow.environment_id == EnvironmentRow.id)
        .correlate(EnvironmentRow)
        .scalar_subquery()
        .label("attempts"),
        EnvironmentRow.created_at,
    ),
    id_col=EnvironmentRow.id,
    filters={"status": EnvironmentRow.status, "name": SnapshotRow.name},
    joins=(
        (SnapshotRow, SnapshotRow.id == EnvironmentRow.snapshot_id),
        (SourceRow, SourceRow.id == SnapshotRow.source_id),
    ),
)
LISTINGS["ui.tests"] = Listing(
    columns=LISTINGS["tests"].columns,
    id_col=TestResultRow.id,
    filters={
        "environment_id": TestResultRow.environment_id,
        "outcome": TestResultRow.outcome,
        "flaky": TestResultRow.flaky,
    },
)


# ------------------------------------------------------------------------------ lists


def list_environments(
    s: Session, page: PageParams, status: str | None, name: str | None
) -> tuple[list[EnvironmentRowView], Cursor]:
    rows, cursor = fetch_page(s, "ui.environments", page, status=status, name=name)
    return [EnvironmentRowView.model_validate(r) for r in rows], cursor


def list_tests(
    s: Session, env_id: int, page: PageParams, outcome: str | None, flaky: bool | None
) -> tuple[list[dict[str, Any]], Cursor]:
    if s.get(EnvironmentRow, env_id) is None:
        raise NotFoundError(f"no environment with id {env_id}")
    return fetch_page(s, "ui.tests", page, environment_id=env_id, outcome=outcome, flaky=flaky)


def family_counts(s: Session, environment_id: int | None) -> list[FamilyCount]:
    q = select(TaskRow.family, TaskRow.kind, func.count()).group_by(TaskRow.family, TaskRow.kind)
    if environment_id is not None:
        q = q.where(TaskRow.environment_id == environment_id)
    rows = s.execute(q).all()
    return sorted(
        (FamilyCount(family=f, kind=k, tasks=n) for f, k, n in rows), key=lambda c: (-c.tasks, c.family)
    )


# ------------------------------------------------------------------------------ trajectory

_STEP_COLUMNS = (
    StepRow.index,
    StepRow.raw_output,
    StepRow.tool,
    StepRow.args,
    StepRow.error,
    StepRow.observation,
    # The agent stores `output` only when it differs from what the policy was shown.
    StepRow.output.isnot(None).label("has_full_output"),
    StepRow.exit_code,
    StepRow.duration_ms,
    StepRow.truncated,
    StepRow.timed_out,
    StepRow.output_bytes,
    StepRow.prompt_tokens,
    StepRow.completion_tokens,
    StepRow.llm_ms,
    StepRow.exec_ms,
    StepRow.started_at,
    StepRow.finished_at,
)


def step_page(s: Session, episode_id: int, from_index: int, limit: int) -> StepPage:
    """Steps from `from_index` on, by the (episode_id, index) key: as fast deep into a long
    episode as at its start."""
    if s.get(EpisodeRow, episode_id) is None:
        raise NotFoundError(f"no episode with id {episode_id}")
    last = s.scalar(select(func.max(StepRow.index)).where(StepRow.episode_id == episode_id))
    rows = s.execute(
        select(*_STEP_COLUMNS)
        .where(StepRow.episode_id == episode_id, StepRow.index >= from_index)
        .order_by(StepRow.index)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [StepView(**r._asdict(), diff=edit_diff(r.tool, r.args or {})) for r in rows]
    return StepPage(
        episode_id=episode_id,
        total=0 if last is None else int(last) + 1,
        items=items,
        next_index=items[-1].index + 1 if more and items else None,
    )


def step_output(s: Session, episode_id: int, index: int) -> str:
    row = s.execute(
        select(StepRow.output, StepRow.observation).where(
            StepRow.episode_id == episode_id, StepRow.index == index
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"episode {episode_id} has no step {index}")
    return row.output if row.output is not None else row.observation
