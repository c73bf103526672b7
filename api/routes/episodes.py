"""Episodes and their trajectories (`forager.trajectory/1`), one as JSON or many as JSONL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from api import queries
from api.auth import ReadKey
from api.deps import MAX_ID, ApiSettingsDep, DbDep, PageDep, SettingsDep, json_response, page_of
from api.schemas import Episode, EpisodeItem, Page
from forager.agent.models import ExitStatus, Trajectory
from forager.store.episodes import EpisodeStore

router = APIRouter(tags=["episodes"])
EpisodeId = Annotated[int, Path(ge=1, le=MAX_ID)]
EnvFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
TaskFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ExitFilter = Annotated[ExitStatus | None, Query()]
PolicyFilter = Annotated[str | None, Query(max_length=64, description="policy kind: explorer, openai, ...")]


@router.get("/v1/episodes", response_model=Page[EpisodeItem])
def list_episodes(
    request: Request,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    environment_id: EnvFilter = None,
    task_id: TaskFilter = None,
    exit_status: ExitFilter = None,
    policy_kind: PolicyFilter = None,
) -> Response:
    items, cursor = db.read(
        lambda s: queries.list_episodes(s, page, environment_id, task_id, exit_status, policy_kind)
    )
    return page_of(request, page, items, cursor)


@router.get("/v1/episodes/{episode_id}", response_model=Episode)
def get_episode(request: Request, episode_id: EpisodeId, db: DbDep, _: ReadKey) -> Response:
    base = request.url.path.rstrip("/")
    return json_response(db.read(lambda s: queries.get_episode(s, episode_id, base)))


@router.get("/v1/episodes/{episode_id}/trajectory", response_model=Trajectory)
def trajectory(episode_id: EpisodeId, settings: SettingsDep, _: ReadKey) -> Response:
    """The whole trajectory, steps included (a running episode shows the steps so far)."""
    traj = EpisodeStore(settings.db_url).trajectory(episode_id)
    return json_response(traj)


@router.get(
    "/v1/trajectories",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def trajectories(
    db: DbDep,
    settings: SettingsDep,
    api_settings: ApiSettingsDep,
    _: ReadKey,
    environment_id: EnvFilter = None,
    task_id: TaskFilter = None,
    exit_status: ExitFilter = None,
    policy_kind: PolicyFilter = None,
    after_id: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="resume after this episode id")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="at most this many trajectories")] = None,
) -> StreamingResponse:
    """Finished trajectories, one JSON object per line, oldest first, streamed from the store
    in batches; resume an interrupted download with after_id = the last episode_id received."""
    if environment_id is not None:
        db.read(lambda s: queries.environment_exists(s, environment_id))  # a 404 now, not an empty stream
    lines = queries.iter_trajectories(
        settings.db_url,
        api_settings.trajectory_batch,
        environment_id,
        task_id,
        exit_status,
        policy_kind,
        after_id,
        limit,
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")
