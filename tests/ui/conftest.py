"""A real API server process on the session's PostgreSQL store seeded with the demo world,
a live Celery worker, and headless Chromium logged in with a read key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from api.keys import ApiKeyStore
from tests.ui.browser import ROOT, ApiServer, Browser, BrowserUnavailableError, ensure_chromium
from tests.ui.world import DemoWorld, seed_demo

PEPPER = "ui-tests-pepper"
POLL_S = 0.4  # the pages' refresh period in these tests


@pytest.fixture(scope="session")
def chromium() -> None:
    try:
        ensure_chromium()
    except BrowserUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def ui_env(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        "FORAGER_DATABASE_URL": pg_url,
        "FORAGER_REDIS_URL": redis_url,
        "FORAGER_API_KEYS_PEPPER": PEPPER,
        "FORAGER_DATA_DIR": str(tmp_path_factory.mktemp("ui-data")),
        "FORAGER_INSTANCE": f"ui-test-{uuid.uuid4().hex[:6]}",
        "FORAGER_API_UI_POLL_S": str(POLL_S),
        "FORAGER_API_UI_CACHE_S": "0",
        "FORAGER_API_UI_MONITOR_S": "1",
        "FORAGER_API_AUTH_CACHE_S": "0",
        "FORAGER_API_LOG_REQUESTS": "false",
    }


@pytest.fixture(scope="session")
def world(pg_url: str) -> DemoWorld:
    return seed_demo(pg_url, bulk_episodes=80, long_steps=240)


@pytest.fixture(scope="session")
def read_key(pg_url: str) -> str:
    return ApiKeyStore(pg_url, PEPPER).create("ui-tests", "read").key


@pytest.fixture(scope="session")
def server(
    ui_env: dict[str, str], world: DemoWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    srv = ApiServer(ui_env, tmp_path_factory.mktemp("ui-logs") / "api.log")
    srv.start()
    yield srv.url
    srv.stop()


@pytest.fixture(scope="session")
def worker_name(ui_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live Celery worker on the test broker, on a queue nothing feeds (it only has to be seen)."""
    name = f"ui-{uuid.uuid4().hex[:6]}@dashboard"
    log = tmp_path_factory.mktemp("ui-worker") / "worker.log"
    cmd = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", "dashboard-test",
           "--concurrency", "1", "--pool", "solo", "-n", name, "--without-gossip", "--without-mingle"]  # fmt: skip
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **ui_env},
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield name
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: None, server: str, read_key: str) -> Iterator[Browser]:
    b = Browser(server)
    b.login(read_key)
    yield b
    b.quit()
