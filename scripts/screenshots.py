"""Screenshots of the dashboard's main pages for the README (docs/screenshots/*.png).

Usage: python scripts/screenshots.py [--out docs/screenshots] [--pg URL] [--redis URL]

Seeds a throwaway PostgreSQL database with the browser tests' demo world (tests/ui/world.py)
plus a few hundred short episodes, starts the API and a Celery worker (so that the overview
has a live worker to show), logs headless Chromium in with a read key and captures each page.
Everything it starts is stopped and the database dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from selenium.webdriver.common.action_chains import ActionChains

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.keys import ApiKeyStore  # noqa: E402
from tests.ui.browser import ApiServer, Browser  # noqa: E402
from tests.ui.world import DemoWorld, seed_demo  # noqa: E402

PEPPER = "screenshots-pepper"
DEFAULT_PG = "postgresql://forager:forager@127.0.0.1:5432/forager"


def capture(b: Browser, out: Path, world: DemoWorld) -> list[Path]:
    calc = world.env_ids["minicalc"]
    shots: list[Path] = []

    def page(
        path: str, name: str, height: int = 1500, prepare: str | None = None, whole: bool = True
    ) -> None:
        b.open(path)
        time.sleep(0.6)  # live pages: let the second refresh land (charts, workers)
        if prepare:
            b.js(prepare)
            time.sleep(0.6)
        target = out / f"{name}.png"
        b.screenshot(target, max_height=height, whole=whole)
        shots.append(target)

    page("/ui", "overview", 1250)
    page("/ui/environments", "environments", 700)
    page(f"/ui/environments/{calc}", "environment", 1250, "document.querySelector('.show-log').click()")
    page(f"/ui/tasks?environment_id={calc}", "tasks", 1300, "document.querySelector('.show-patch').click()")
    # The trajectory viewer on an edit step, reached with the keyboard as a reader would.
    eid = world.episode_ids[0]
    b.open(f"/ui/episodes/{eid}")
    edit = int(b.js("return Number(document.querySelector('section.step[data-tool=edit]').dataset.index)"))
    for _ in range(edit):
        ActionChains(b.driver).send_keys("j").perform()
    time.sleep(0.5)
    b.js("document.querySelector('section.step.current').scrollIntoView({block: 'start'})")
    b.js("window.scrollBy(0, -90)")  # clear of the sticky header and toolbar
    time.sleep(0.3)
    target = out / "trajectory.png"
    b.screenshot(target, whole=False)
    shots.append(target)
    page("/ui/plots", "plots", 1150)
    return shots


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL admin URL (a database is made next to it)")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = p.parse_args()
    name = f"forager_shots_{uuid.uuid4().hex[:8]}"
    admin = args.pg.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    tmp = Path(tempfile.mkdtemp(prefix="forager-shots-"))
    worker: subprocess.Popen[bytes] | None = None
    server: ApiServer | None = None
    browser: Browser | None = None
    try:
        world = seed_demo(url, bulk_episodes=600)
        key = ApiKeyStore(url, PEPPER).create("screenshots", "read").key
        env = {
            "FORAGER_DATABASE_URL": url,
            "FORAGER_REDIS_URL": args.redis,
            "FORAGER_API_KEYS_PEPPER": PEPPER,
            "FORAGER_DATA_DIR": str(tmp),
            "FORAGER_INSTANCE": f"shots-{uuid.uuid4().hex[:6]}",
            "FORAGER_API_UI_MONITOR_S": "1",
            "FORAGER_API_LOG_REQUESTS": "false",
        }
        with (tmp / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", "episodes",
                 "--concurrency", "1", "--pool", "solo", "-n", "episodes-1@forager", "--without-gossip",
                 "--without-mingle"],
                env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        server = ApiServer(env, tmp / "api.log")
        server.start()
        browser = Browser(server.url, width=1400, height=900)
        browser.login(key)
        time.sleep(3)  # the monitor's first look at the worker
        for shot in capture(browser, args.out, world):
            print(f"wrote {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}")
        return 0
    finally:
        if browser is not None:
            browser.quit()
        if server is not None:
            server.stop()
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        from forager.store.db import get_engine

        get_engine(url).dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
