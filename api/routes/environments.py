"""Environments: verified (or failed) images, their build attempts and test baselines."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse

from api import queries
from api.auth import ReadKey
from api.deps import MAX_ID, DbDep, PageDep, json_response, page_of
from api.schemas import EnvironmentDetail, EnvironmentItem, Page, TestOutcome

router = APIRouter(prefix="/v1/environments", tags=["environments"])
EnvId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=Page[EnvironmentItem])
def list_environments(
    request: Request,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    status: Annotated[Literal["building", "verified", "failed"] | None, Query()] = None,
    name: Annotated[str | None, Query(max_length=256, description="repository name, exact")] = None,
) -> Response:
    items, cursor = db.read(lambda s: queries.list_environments(s, page, status, name))
    return page_of(request, page, items, cursor)


@router.get("/{env_id}", response_model=EnvironmentDetail)
def get_environment(request: Request, env_id: EnvId, db: DbDep, _: ReadKey) -> Response:
    base = request.url.path.rstrip("/")
    return json_response(db.read(lambda s: queries.get_environment(s, env_id, base)))


@router.get("/{env_id}/attempts/{index}/log", response_class=PlainTextResponse)
def attempt_log(
    env_id: EnvId,
    index: Annotated[int, Path(ge=0, le=10_000)],
    db: DbDep,
    _: ReadKey,
    part: Annotated[Literal["all", "dockerfile", "build", "test"], Query()] = "all",
) -> PlainTextResponse:
    return PlainTextResponse(db.read(lambda s: queries.attempt_log(s, env_id, index, part)))


@router.get("/{env_id}/tests", response_model=Page[TestOutcome])
def baseline(
    request: Request,
    env_id: EnvId,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    outcome: Annotated[Literal["passed", "failed", "skipped", "error"] | None, Query()] = None,
) -> Response:
    items, cursor = db.read(lambda s: queries.list_tests(s, env_id, page, outcome))
    return page_of(request, page, items, cursor)
