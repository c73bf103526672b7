"""Request-scoped dependencies: settings, the read database, pagination, JSON responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel

from api.db import ReadDb, read_engine
from api.errors import ApiError
from api.schemas import Page
from api.settings import ApiSettings
from forager.config import Settings

T = TypeVar("T")
MAX_ID = 2**63 - 1  # ids are BIGINT: anything larger is a 422, not a database error


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_api_settings(request: Request) -> ApiSettings:
    api_settings: ApiSettings = request.app.state.api_settings
    return api_settings


async def get_db(request: Request) -> ReadDb:
    state = request.app.state
    db: ReadDb | None = state.db
    if db is None:  # the store was down when the app started: try again now
        db = await anyio.to_thread.run_sync(make_db, state.settings, state.api_settings)
        state.db = db
    return db


def make_db(settings: Settings, api_settings: ApiSettings) -> ReadDb:
    return ReadDb(read_engine(settings.db_url, api_settings.db_pool_size, api_settings.db_max_overflow))


DbDep = Annotated[ReadDb, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]


@dataclass(frozen=True)
class PageParams:
    """Offset or keyset paging over a table's id; keyset (`after_id`) stays fast at any depth."""

    limit: int
    offset: int
    after_id: int | None
    order: Literal["asc", "desc"]

    def cut(self, rows: list[T], id_of: Any) -> tuple[list[T], int | None]:
        """The page's rows and the cursor of the next page (None on the last page)."""
        if len(rows) <= self.limit:
            return rows, None
        rows = rows[: self.limit]
        return rows, int(id_of(rows[-1]))


async def page_params(
    request: Request,
    limit: Annotated[
        int | None, Query(ge=1, description="page size (default and maximum are settings)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip; prefer after_id")] = 0,
    after_id: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="keyset cursor: rows after this id, in `order`")
    ] = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="by id; desc lists the newest first")
    ] = "desc",
) -> PageParams:
    api: ApiSettings = request.app.state.api_settings
    size = limit or api.page_size
    if size > api.max_page_size:
        raise ApiError(
            422,
            "validation_error",
            f"limit: at most {api.max_page_size} rows per page",
            [
                {
                    "loc": ["query", "limit"],
                    "msg": f"must be <= {api.max_page_size}",
                    "type": "less_than_equal",
                }
            ],
        )
    if after_id is not None and offset:
        raise ApiError(
            422,
            "validation_error",
            "give either offset or after_id, not both",
            [{"loc": ["query", "offset"], "msg": "not allowed with after_id", "type": "value_error"}],
        )
    return PageParams(size, offset, after_id, order)


PageDep = Annotated[PageParams, Depends(page_params)]


def next_link(request: Request, next_after_id: int | None) -> str | None:
    """The relative URL of the next page: same filters, keyset cursor instead of an offset."""
    if next_after_id is None:
        return None
    url = request.url.remove_query_params("offset").include_query_params(after_id=next_after_id)
    return f"{url.path}?{url.query}"


def page_of(request: Request, page: PageParams, items: list[T], cursor: int | None) -> Response:
    """The page as a ready JSON response (declared to OpenAPI by each route's response_model).

    Items are validated models already; returning a Response spares FastAPI's
    dump-validate-dump round of the whole page, a large share of a list request's CPU.
    """
    body = Page[Any](
        items=items,
        limit=page.limit,
        offset=page.offset,
        next_after_id=cursor,
        links={"next": next_link(request, cursor)},
    )
    return json_response(body)


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")
