"""The dashboard's JSON: aggregates and trajectory pages the REST API does not offer.

Same keys and scopes as the API (`read`); pages also use the /v1 endpoints directly.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse

from api.auth import ReadKey
from api.deps import MAX_ID, DbDep, PageDep, json_response, page_of
from api.schemas import Page, TestOutcome
from api.ui import aggregates, queries
from api.ui.cache import TtlCache
from api.ui.monitor import WorkerMonitor
from api.ui.schemas import EnvironmentRowView, FamilyCount, Me, Overview, Plots, StepPage
from forager.store.models import utcnow

router = APIRouter(prefix="/ui/api", tags=["dashboard"])
EpisodeId = Annotated[int, Path(ge=1, le=MAX_ID)]
EnvId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _cache(request: Request) -> TtlCache:
    cache: TtlCache = request.app.state.ui_cache
    return cache


def _monitor(request: Request) -> WorkerMonitor:
    monitor: WorkerMonitor = request.app.state.ui_monitor
    return monitor


@router.get("/me", response_model=Me)
def me(principal: ReadKey) -> Me:
    """Who the presented key is: the login page's check."""
    return Me(name=principal.name, prefix=principal.prefix, scopes=sorted(principal.scopes))


@router.get("/overview", response_model=Overview)
def overview(request: Request, db: DbDep, _: ReadKey) -> Response:
    cached = _cache(request).get("overview", lambda: db.read(lambda s: aggregates.overview(s, utcnow())))
    # The broker's state is in memory already: always the newest.
    body = cached.model_copy(update={"queues": _monitor(request).state()})
    return json_response(body)


@router.get("/plots", response_model=Plots)
def plots(request: Request, db: DbDep, _: ReadKey) -> Response:
    return json_response(_cache(request).get("plots", lambda: db.read(aggregates.plots)))


@router.get("/environments", response_model=Page[EnvironmentRowView])
def environments(
    request: Request,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    status: Annotated[Literal["building", "verified", "failed"] | None, Query()] = None,
    name: Annotated[str | None, Query(max_length=256, description="repository name, exact")] = None,
) -> Response:
    items, cursor = db.read(lambda s: queries.list_environments(s, page, status, name))
    return page_of(request, page, items, cursor)


@router.get("/environments/{env_id}/tests", response_model=Page[TestOutcome])
def tests(
    request: Request,
    env_id: EnvId,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    outcome: Annotated[Literal["passed", "failed", "skipped", "error"] | None, Query()] = None,
    flaky: Annotated[bool | None, Query()] = None,
) -> Response:
    rows, cursor = db.read(lambda s: queries.list_tests(s, env_id, page, outcome, flaky))
    return page_of(request, page, [TestOutcome.model_validate(r) for r in rows], cursor)


@router.get("/task-families", response_model=list[FamilyCount])
def task_families(
    db: DbDep, _: ReadKey, environment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None
) -> list[FamilyCount]:
    return db.read(lambda s: queries.family_counts(s, environment_id))


@router.get("/episodes/{episode_id}/steps", response_model=StepPage)
def steps(
    episode_id: EpisodeId,
    db: DbDep,
    _: ReadKey,
    from_index: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """A page of a trajectory's steps by index: the viewer streams long episodes with these."""
    return json_response(db.read(lambda s: queries.step_page(s, episode_id, from_index, limit)))


@router.get("/episodes/{episode_id}/steps/{index}/output", response_class=PlainTextResponse)
def step_output(
    episode_id: EpisodeId, index: Annotated[int, Path(ge=0, le=10_000_000)], db: DbDep, _: ReadKey
) -> PlainTextResponse:
    """A step's full stored output (what the policy saw may have been cut)."""
    return PlainTextResponse(db.read(lambda s: queries.step_output(s, episode_id, index)))
