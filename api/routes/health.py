"""Probes and metrics, open without a key (they reveal counts, never content)."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import docker
import redis
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from api.schemas import Check, Readiness
from api.settings import ApiSettings
from forager.config import Settings
from forager.store.db import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. No I/O, so a slow database never restarts the API."""
    return {"status": "ok"}


def _store(settings: Settings) -> None:
    with get_engine(settings.db_url).connect() as conn:
        conn.execute(text("SELECT 1"))


def _broker(settings: Settings, timeout: float) -> None:
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def _docker(timeout: float) -> None:
    client = docker.from_env(timeout=max(1, int(timeout)))
    try:
        client.ping()
    finally:
        client.close()


async def _check(fn: Callable[[], None], required: bool, timeout: float) -> Check:
    t0 = time.perf_counter()
    error: str | None = None
    # A hung dependency must not hang the probe: stop waiting, leave the thread to finish.
    with anyio.move_on_after(timeout) as scope:
        try:
            await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    if scope.cancelled_caught:
        error = f"no answer within {timeout:g} s"
    return Check(
        ok=error is None, required=required, ms=round((time.perf_counter() - t0) * 1000, 2), error=error
    )


@router.get("/readyz", response_model=Readiness)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: store and broker must answer; Docker is reported, and required only when
    the service is configured so (the API itself never runs containers)."""
    settings: Settings = request.app.state.settings
    api: ApiSettings = request.app.state.api_settings
    t = api.ready_timeout_s
    checks: dict[str, Check] = {}

    async def run(name: str, fn: Callable[[], None], required: bool) -> None:
        checks[name] = await _check(fn, required, t)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "store", lambda: _store(settings), True)
        tg.start_soon(run, "broker", lambda: _broker(settings, t), True)
        tg.start_soon(run, "docker", lambda: _docker(t), api.ready_requires_docker)
    ready = all(c.ok or not c.required for c in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=dict(sorted(checks.items())))
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    # The store collector does blocking I/O: keep it off the event loop.
    payload = await anyio.to_thread.run_sync(generate_latest, registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
