"""Tasks: bugs to fix in an environment, with their gold patches and tests."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api import queries
from api.auth import ReadKey
from api.deps import MAX_ID, DbDep, PageDep, json_response, page_of
from api.schemas import Page, Task, TaskItem

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", response_model=Page[TaskItem])
def list_tasks(
    request: Request,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    environment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    family: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[Literal["mutate_fix", "issue_fix"] | None, Query()] = None,
) -> Response:
    items, cursor = db.read(lambda s: queries.list_tasks(s, page, environment_id, family, kind))
    return page_of(request, page, items, cursor)


@router.get("/{task_id}", response_model=Task)
def get_task(task_id: Annotated[int, Path(ge=1, le=MAX_ID)], db: DbDep, _: ReadKey) -> Response:
    return json_response(db.read(lambda s: queries.get_task(s, task_id)))
