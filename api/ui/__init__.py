"""The dashboard, served by the API process under /ui (see pages.py and data.py)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.settings import ApiSettings
from api.ui import data, pages
from api.ui.cache import TtlCache
from api.ui.monitor import WorkerMonitor
from forager.config import Settings


class _Static(StaticFiles):
    """Static files revalidated on every load (an ETag round trip), so that a deploy's new
    scripts are never mixed with a browser's cached old modules."""

    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install(app: FastAPI, settings: Settings, api_settings: ApiSettings) -> None:
    app.state.ui_cache = TtlCache(api_settings.ui_cache_s)
    app.state.ui_monitor = WorkerMonitor(settings, api_settings.ui_monitor_s)
    app.include_router(data.router)
    app.include_router(pages.router)
    app.mount("/ui/static", _Static(directory=pages.HERE / "static"), name="ui-static")


def uninstall(app: FastAPI) -> None:
    monitor: WorkerMonitor | None = getattr(app.state, "ui_monitor", None)
    if monitor is not None:
        monitor.stop()
