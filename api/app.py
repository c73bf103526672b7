"""The FastAPI application: `uvicorn api.app:app`, or `forager api serve`."""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import structlog
from fastapi import FastAPI

from api import errors, ui
from api.auth import PrincipalCache
from api.deps import make_db
from api.keys import ApiKeyStore
from api.logs import configure_logging
from api.metrics import make_registry
from api.middleware import BodyLimitMiddleware, RequestLogMiddleware
from api.routes import ROUTERS
from api.settings import ApiSettings, get_api_settings
from forager.config import Settings, get_settings

log = structlog.get_logger("forager.api")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    api_settings: ApiSettings = app.state.api_settings
    # Sync routes run on anyio's thread pool; its size bounds the read connections in use.
    anyio.to_thread.current_default_thread_limiter().total_tokens = api_settings.threads
    try:
        # Migrate (idempotent) and open the read pool before the first request, not in it.
        app.state.db = await anyio.to_thread.run_sync(make_db, settings, api_settings)
    except Exception as exc:
        # Keep serving: /readyz says the store is down, and the first request retries.
        log.error("api.store_unavailable_at_start", error=str(exc))
    # enqueue_submission imports the Celery tasks module (and the whole pipeline) on first
    # use: seconds of import under the GIL, which every request in flight would wait out.
    await anyio.to_thread.run_sync(importlib.import_module, "workers.tasks")
    # Everything loaded so far lives as long as the process. Left in the collector's view, it
    # makes each full collection walk ~150k objects: a 100 ms stall of every request in
    # flight, every few thousand requests, which is the API's p99. Frozen, it is skipped.
    gc.collect()
    gc.freeze()
    log.info("api.start", instance=settings.instance)
    yield
    ui.uninstall(app)
    if app.state.db is not None:
        app.state.db.dispose()


def create_app(settings: Settings | None = None, api_settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    api_settings = api_settings or get_api_settings()
    configure_logging(api_settings.log_format)
    app = FastAPI(
        title="Forager",
        version="1",
        summary="Submit repositories; read environments, tasks, episodes and trajectories.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.api_settings = api_settings
    app.state.db = None
    app.state.principal_cache = PrincipalCache(api_settings.auth_cache_s)
    registry, request_metrics = make_registry(settings, api_settings.metrics_cache_s)
    app.state.metrics_registry = registry
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    if api_settings.ui_enabled:
        ui.install(app, settings, api_settings)
    # Added last = outermost: oversized bodies are refused before anything else runs.
    keys = ApiKeyStore(settings.db_url, settings.api_keys_pepper.get_secret_value())
    app.add_middleware(
        RequestLogMiddleware, metrics=request_metrics, keys=keys, log_requests=api_settings.log_requests
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=api_settings.max_body_bytes)
    return app


app = create_app()
