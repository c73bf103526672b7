"""The dashboard's HTML: one small shell per page; the page's ES module fetches its data.

Shells hold no data, so they need no key; every data request carries the key the login page
stored in the browser. Scripts and styles come only from this origin (no build step, no CDN).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import MAX_ID
from api.settings import ApiSettings

HERE = FsPath(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

NAV = (
    ("overview", "Overview", ""),
    ("environments", "Environments", "/environments"),
    ("tasks", "Tasks", "/tasks"),
    ("episodes", "Episodes", "/episodes"),
    ("plots", "Plots", "/plots"),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def render(request: Request, page: str, title: str, section: str, **params: Any) -> HTMLResponse:
    api: ApiSettings = request.app.state.api_settings
    root = request.scope.get("root_path", "").rstrip("/")
    context = {
        "page": page,
        "title": title,
        "section": section,
        "nav": NAV,
        "root": root,
        "params": {"poll-ms": int(api.ui_poll_s * 1000), **params},
    }
    return templates.TemplateResponse(
        request, f"{'login' if page == 'login' else 'page'}.html", context, headers=SECURITY_HEADERS
    )


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    return render(request, "overview", "Overview", "overview")


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    return render(request, "login", "Log in", "")


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission(request: Request, submission_id: Id) -> HTMLResponse:
    return render(request, "submission", f"Submission {submission_id}", "overview", id=submission_id)


@router.get("/environments", response_class=HTMLResponse)
def environments(request: Request) -> HTMLResponse:
    return render(request, "environments", "Environments", "environments")


@router.get("/environments/{env_id}", response_class=HTMLResponse)
def environment(request: Request, env_id: Id) -> HTMLResponse:
    return render(request, "environment", f"Environment {env_id}", "environments", id=env_id)


@router.get("/tasks", response_class=HTMLResponse)
def tasks(request: Request) -> HTMLResponse:
    return render(request, "tasks", "Tasks", "tasks")


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task(request: Request, task_id: Id) -> HTMLResponse:
    return render(request, "task", f"Task {task_id}", "tasks", id=task_id)


@router.get("/episodes", response_class=HTMLResponse)
def episodes(request: Request) -> HTMLResponse:
    return render(request, "episodes", "Episodes", "episodes")


@router.get("/episodes/{episode_id}", response_class=HTMLResponse)
def episode(request: Request, episode_id: Id) -> HTMLResponse:
    return render(request, "episode", f"Episode {episode_id}", "episodes", id=episode_id)


@router.get("/plots", response_class=HTMLResponse)
def plots(request: Request) -> HTMLResponse:
    return render(request, "plots", "Plots", "plots")
