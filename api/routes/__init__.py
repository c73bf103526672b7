"""One router per resource; `app.py` mounts them all."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import environments, episodes, health, sources, tasks

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    sources.router,
    environments.router,
    tasks.router,
    episodes.router,
)
