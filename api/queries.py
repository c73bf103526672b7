"""The API's read model: list and get queries that select only what a response shows.

The store's repositories load whole rows with their relations (an environment with every
attempt's build log), which is right for the pipeline and far too heavy for a list page at
hundreds of requests per second; these queries pick columns and page by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from api.deps import PageParams
from api.schemas import (
    AttemptLogLink,
    EnvironmentDetail,
    EnvironmentItem,
    Episode,
    EpisodeItem,
    Submission,
    Task,
    TaskItem,
    TestOutcome,
)
from forager.envs.models import EnvironmentSummary
from forager.errors import NotFoundError
from forager.store.db import session_scope
from forager.store.episodes import EpisodeStore, iter_jsonl
from forager.store.models import (
    BuildAttemptRow,
    EnvironmentRow,
    EpisodeRow,
    SnapshotRow,
    SourceRow,
    SubmissionRow,
    TaskRow,
    TestResultRow,
)

Cursor = int | None


@dataclass(frozen=True)
class Listing:
    """What a list endpoint selects, the id it pages by, and the equality filters it takes."""

    columns: tuple[Any, ...]
    id_col: Any  # a mapped integer column
    filters: dict[str, Any]  # filter name -> column (or expression) compared for equality
    joins: tuple[tuple[Any, Any], ...] = ()


@lru_cache(maxsize=1024)
def _statement(name: str, order: str, keyset: bool, filters: tuple[str, ...]) -> Select[Any]:
    """One statement per shape of request, values as bind parameters.

    SQLAlchemy memoizes a statement's cache key on the statement object; building a fresh
    statement per request recomputes it, which costs more CPU than running the query.
    """
    listing = LISTINGS[name]
    q = select(*listing.columns)
    for table, on in listing.joins:
        q = q.join(table, on)
    for f in filters:
        q = q.where(listing.filters[f] == bindparam(f))
    if keyset:
        after: Any = bindparam("after_id")
        q = q.where(listing.id_col > after if order == "asc" else listing.id_col < after)
    q = q.order_by(listing.id_col.asc() if order == "asc" else listing.id_col.desc())
    # One row more than asked says whether a next page exists, without a COUNT.
    return q.offset(bindparam("offset")).limit(bindparam("limit"))


def fetch_page(
    s: Session, listing: str, page: PageParams, **filters: Any
) -> tuple[list[dict[str, Any]], Cursor]:
    """A page of a listing as column dicts, and the next page's cursor."""
    given = {k: v for k, v in filters.items() if v is not None and v != ""}
    stmt = _statement(listing, page.order, page.after_id is not None, tuple(sorted(given)))
    params = {**given, "offset": page.offset, "limit": page.limit + 1}
    if page.after_id is not None:
        params["after_id"] = page.after_id
    rows, cursor = page.cut(list(s.connection().execute(stmt, params)), lambda r: r.id)
    return [r._asdict() for r in rows], cursor


LISTINGS: dict[str, Listing] = {
    "submissions": Listing(
        columns=tuple(SubmissionRow.__table__.columns),
        id_col=SubmissionRow.id,
        filters={"status": SubmissionRow.status},
    ),
    "environments": Listing(
        columns=(
            EnvironmentRow.id,
            SnapshotRow.name,
            SourceRow.spec.label("source"),
            SnapshotRow.commit_sha,
            EnvironmentRow.status,
            EnvironmentRow.reason,
            EnvironmentRow.python_version.label("python"),
            EnvironmentRow.image_tag,
            EnvironmentRow.strategy,
            EnvironmentRow.tests_collected,
            EnvironmentRow.tests_passed,
            EnvironmentRow.tests_failed,
            EnvironmentRow.created_at,
            EnvironmentRow.updated_at,
        ),
        id_col=EnvironmentRow.id,
        filters={"status": EnvironmentRow.status, "name": SnapshotRow.name},
        joins=(
            (SnapshotRow, SnapshotRow.id == EnvironmentRow.snapshot_id),
            (SourceRow, SourceRow.id == SnapshotRow.source_id),
        ),
    ),
    "tests": Listing(
        columns=(
            TestResultRow.id,
            TestResultRow.test_id,
            TestResultRow.outcome,
            TestResultRow.duration_s,
            TestResultRow.flaky,
        ),
        id_col=TestResultRow.id,
        filters={"environment_id": TestResultRow.environment_id, "outcome": TestResultRow.outcome},
    ),
    "tasks": Listing(
        columns=(
            TaskRow.id,
            TaskRow.environment_id,
            TaskRow.kind,
            TaskRow.family,
            TaskRow.target_file,
            TaskRow.target_symbol,
            TaskRow.line_start,
            TaskRow.line_end,
            TaskRow.description,
            TaskRow.created_at,
        ),
        id_col=TaskRow.id,
        filters={"environment_id": TaskRow.environment_id, "family": TaskRow.family, "kind": TaskRow.kind},
    ),
    "episodes": Listing(
        columns=(
            EpisodeRow.id,
            EpisodeRow.environment_id,
            EpisodeRow.task_id,
            EpisodeRow.status,
            EpisodeRow.exit_status,
            EpisodeRow.policy,
            EpisodeRow.seed,
            EpisodeRow.reward,
            EpisodeRow.totals,
            EpisodeRow.started_at,
            EpisodeRow.finished_at,
        ),
        id_col=EpisodeRow.id,
        filters={
            "environment_id": EpisodeRow.environment_id,
            "task_id": EpisodeRow.task_id,
            "exit_status": EpisodeRow.exit_status,
            "policy_kind": EpisodeRow.policy["kind"].as_string(),
        },
    ),
}


def list_submissions(s: Session, page: PageParams, status: str | None) -> tuple[list[Submission], Cursor]:
    rows, cursor = fetch_page(s, "submissions", page, status=status)
    return [Submission.model_validate(r) for r in rows], cursor


def get_submission(s: Session, submission_id: int) -> Submission:
    row = s.get(SubmissionRow, submission_id)
    if row is None:
        raise NotFoundError(f"no submission with id {submission_id}")
    return Submission.model_validate(row)


def list_environments(
    s: Session, page: PageParams, status: str | None, name: str | None
) -> tuple[list[EnvironmentItem], Cursor]:
    rows, cursor = fetch_page(s, "environments", page, status=status, name=name)
    return [EnvironmentItem.model_validate(r) for r in rows], cursor


def get_environment(s: Session, env_id: int, base_path: str) -> EnvironmentDetail:
    env = s.scalar(
        select(EnvironmentRow)
        .where(EnvironmentRow.id == env_id)
        .options(
            joinedload(EnvironmentRow.snapshot).joinedload(SnapshotRow.source),
            # Attempts without their logs and Dockerfiles: those are served one at a time.
            selectinload(EnvironmentRow.attempts).options(
                defer(BuildAttemptRow.build_log),
                defer(BuildAttemptRow.test_log),
                defer(BuildAttemptRow.dockerfile),
            ),
        )
    )
    if env is None:
        raise NotFoundError(f"no environment with id {env_id}")
    summary = EnvironmentSummary.from_row(env)
    return EnvironmentDetail(
        **summary.model_dump(),
        created_at=env.created_at,
        updated_at=env.updated_at,
        attempt_logs=[
            AttemptLogLink(
                index=a.index,
                started_at=a.started_at,
                finished_at=a.finished_at,
                log=f"{base_path}/attempts/{a.index}/log",
            )
            for a in env.attempts
        ],
    )


def attempt_log(s: Session, env_id: int, index: int, part: str) -> str:
    row = s.execute(
        select(BuildAttemptRow.dockerfile, BuildAttemptRow.build_log, BuildAttemptRow.test_log).where(
            BuildAttemptRow.environment_id == env_id, BuildAttemptRow.index == index
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"environment {env_id} has no build attempt {index}")
    dockerfile, build_log, test_log = row
    parts = {"dockerfile": dockerfile, "build": build_log, "test": test_log}
    if part != "all":
        return parts[part] or ""
    return "".join(f"===== {name} =====\n{(text or '').rstrip()}\n\n" for name, text in parts.items())


def environment_exists(s: Session, env_id: int) -> None:
    if s.scalar(select(EnvironmentRow.id).where(EnvironmentRow.id == env_id)) is None:
        raise NotFoundError(f"no environment with id {env_id}")


def list_tests(
    s: Session, env_id: int, page: PageParams, outcome: str | None
) -> tuple[list[TestOutcome], Cursor]:
    environment_exists(s, env_id)
    rows, cursor = fetch_page(s, "tests", page, environment_id=env_id, outcome=outcome)
    return [TestOutcome.model_validate(r) for r in rows], cursor


def list_tasks(
    s: Session, page: PageParams, environment_id: int | None, family: str | None, kind: str | None
) -> tuple[list[TaskItem], Cursor]:
    rows, cursor = fetch_page(s, "tasks", page, environment_id=environment_id, family=family, kind=kind)
    return [TaskItem.model_validate(r) for r in rows], cursor


def get_task(s: Session, task_id: int) -> Task:
    row = s.get(TaskRow, task_id)
    if row is None:
        raise NotFoundError(f"no task with id {task_id}")
    return Task.model_validate(row)


def list_episodes(
    s: Session,
    page: PageParams,
    environment_id: int | None,
    task_id: int | None,
    exit_status: str | None,
    policy_kind: str | None,
) -> tuple[list[EpisodeItem], Cursor]:
    rows, cursor = fetch_page(
        s,
        "episodes",
        page,
        environment_id=environment_id,
        task_id=task_id,
        exit_status=exit_status,
        policy_kind=policy_kind,
    )
    return [EpisodeItem.model_validate(r) for r in rows], cursor


def get_episode(s: Session, episode_id: int, base_path: str) -> Episode:
    row = s.get(EpisodeRow, episode_id)
    if row is None:
        raise NotFoundError(f"no episode with id {episode_id}")
    episode = Episode.model_validate(row)
    episode.links = {"self": base_path, "trajectory": f"{base_path}/trajectory"}
    return episode


def _episode_filters(
    q: Select[Any],
    environment_id: int | None,
    task_id: int | None,
    exit_status: str | None,
    policy_kind: str | None,
) -> Select[Any]:
    conds = LISTINGS["episodes"].filters
    given = {"environment_id": environment_id, "task_id": task_id, "exit_status": exit_status}
    given["policy_kind"] = policy_kind
    for name, value in given.items():
        if value is not None and value != "":
            q = q.where(conds[name] == value)
    return q


def iter_trajectories(
    url: str,
    batch: int,
    environment_id: int | None,
    task_id: int | None,
    exit_status: str | None,
    policy_kind: str | None,
    after_id: int | None,
    limit: int | None,
) -> Iterator[str]:
    """Finished trajectories as JSONL lines, oldest first, read a batch of ids at a time: at
    most one batch of ids and one trajectory are in memory, whatever the total."""
    store = EpisodeStore(url)
    last, sent = after_id or 0, 0
    while limit is None or sent < limit:
        take = batch if limit is None else min(batch, limit - sent)
        with session_scope(url) as s:
            q = select(EpisodeRow.id).where(EpisodeRow.status == "finished", EpisodeRow.id > last)
            q = _episode_filters(q, environment_id, task_id, exit_status, policy_kind)
            ids = list(s.scalars(q.order_by(EpisodeRow.id).limit(take)))
        if not ids:
            return
        yield from iter_jsonl(store, ids)
        sent += len(ids)
        last = ids[-1]
