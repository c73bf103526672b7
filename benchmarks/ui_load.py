"""Dashboard page-data latency on a large store: p95 per page, target under 300 ms.

Usage: python benchmarks/ui_load.py --out RESULT.json [--pg URL] [--episodes 10000]
       [--steps-per-episode 100] [--long-steps 20000] [--loads 150] [--users 4] [--keep-db]

1. Seeds a throwaway PostgreSQL database (`forager_uiload_*`, next to the one named by --pg or
   FORAGER_DATABASE_URL) with COPY through benchmarks/big_store.py: by default 1,000
   repositories with build attempts and baselines, 4,000 tasks, 10,000 episodes of 100 steps
   that finished over the last ~20 hours, two long episodes of 20,000 steps, 500 submissions:
   just over 1M steps.
2. Starts the API (`uvicorn api.app:app`, dashboard included) on a loopback port, with the
   dashboard's aggregate cache off (--cache keeps its default of 5 s): every overview and
   plots request runs its queries.
3. Loads each page's data the way the page's script does (its requests in the same order, the
   concurrent ones together) --loads times per page, from --users simulated readers at once,
   pages in random order. Page-data latency runs from the first request sent to the last
   response read. The trajectory pages open long episodes at random depths (up to step 19,950)
   and page through them as j/k does; lists use filters and keyset pages deep in the table.
4. Prints a table (p50/p95/p99/max per page and per endpoint), writes JSON with --out whose
   `summary` has p95 per page, the overall p95, and whether every page met the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

# Shared with api_load.py (benchmarks run as scripts from this folder).
from api_load import LoopbackClient, free_port, pct, stop, wait_ready  # isort: skip
from big_store import FAMILIES, Volume, _psycopg_url, _sa_url, seed_store  # isort: skip

console = Console(width=160)
DEFAULT_PG = "postgresql://forager:forager@127.0.0.1:5432/forager"
PEPPER = "ui-load-benchmark-pepper"
ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0
EXITS = ("submitted", "step_limit", "format_error", "env_error")

Wave = list[tuple[str, str]]  # (endpoint label, path) fetched together; waves run in order


@dataclass
class Store:
    """What the page generator needs to know of the seeded store."""

    environments: int
    verified: list[int]
    tasks: int
    episodes: int
    long_ids: list[int]
    long_steps: int
    submissions: int
    names: int


@dataclass
class PageSample:
    page: str
    ms: float
    ok: bool


@dataclass
class Run:
    pages: list[PageSample] = field(default_factory=list)
    requests: list[tuple[str, float, int]] = field(default_factory=list)  # (endpoint, ms, status)
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- what each page fetches


def overview(_rng: random.Random, _st: Store) -> list[Wave]:
    return [[("overview", "/ui/api/overview"), ("submissions", "/v1/sources?limit=20")]]


def environments(rng: random.Random, st: Store) -> list[Wave]:
    q = rng.choice(
        [
            "",
            "?status=verified",
            "?status=failed",
            f"?name=project-{rng.randrange(st.names)}",
            f"?after_id={rng.randrange(2, st.environments)}",
        ]
    )
    return [[("environments", f"/ui/api/environments{q}")]]


def environment(rng: random.Random, st: Store) -> list[Wave]:
    env = rng.choice(st.verified)
    tests = rng.choice(["?limit=50", "?limit=50&outcome=failed", "?limit=50&flaky=true"])
    return [
        [("environment", f"/v1/environments/{env}")],
        [("environment tests", f"/ui/api/environments/{env}/tests{tests}")],
    ]


def build_log(rng: random.Random, st: Store) -> list[Wave]:
    return [[("build log", f"/v1/environments/{rng.choice(st.verified)}/attempts/1/log")]]


def tasks(rng: random.Random, st: Store) -> list[Wave]:
    if rng.random() < 0.3:  # the whole store, one family
        fam = rng.choice(FAMILIES)
        return [[("task families", "/ui/api/task-families")], [("tasks", f"/v1/tasks?family={fam}")]]
    env = rng.choice(st.verified)
    return [
        [("task families", f"/ui/api/task-families?environment_id={env}")],
        [("tasks", f"/v1/tasks?environment_id={env}")],
    ]


def task(rng: random.Random, st: Store) -> list[Wave]:
    t = rng.randrange(1, st.tasks + 1)
    return [[("task", f"/v1/tasks/{t}")], [("episodes", f"/v1/episodes?task_id={t}&limit=25")]]


def episodes(rng: random.Random, st: Store) -> list[Wave]:
    q = rng.choice(
        [
            "",
            f"?exit_status={rng.choice(EXITS)}",
            "?policy_kind=openai",
            f"?environment_id={rng.choice(st.verified)}",
            f"?after_id={rng.randrange(2, st.episodes)}",
            f"?exit_status=env_error&after_id={rng.randrange(2, st.episodes)}",
        ]
    )
    return [[("episodes", f"/v1/episodes{q}")]]


def trajectory(rng: random.Random, st: Store) -> list[Wave]:
    """Opening an episode: a long one at a random depth (a shared #step-N link) or a short
    one from its start."""
    if rng.random() < 0.7:
        eid = rng.choice(st.long_ids)
        start = rng.randrange(0, st.long_steps - 50) // 50 * 50
    else:
        eid, start = rng.randrange(1, st.episodes + 1), 0
    return [
        [("episode", f"/v1/episodes/{eid}")],
        [("steps page", f"/ui/api/episodes/{eid}/steps?from_index={start}&limit=50")],
    ]


def trajectory_paging(rng: random.Random, st: Store) -> list[Wave]:
    """Reading on with j/k deep in a long episode: the next page, and one full output (o)."""
    eid = rng.choice(st.long_ids)
    start = rng.randrange(0, st.long_steps - 50) // 50 * 50
    big = start + 7  # every 50th step from 7 on keeps a full output
    return [
        [("steps page", f"/ui/api/episodes/{eid}/steps?from_index={start}&limit=50")],
        [("full output", f"/ui/api/episodes/{eid}/steps/{big}/output")],
    ]


def plots(_rng: random.Random, _st: Store) -> list[Wave]:
    return [[("plots", "/ui/api/plots")]]


def submission(rng: random.Random, st: Store) -> list[Wave]:
    sid = rng.randrange(1, st.submissions + 1)
    env = rng.choice(st.verified)
    return [
        [("submission", f"/v1/sources/{sid}")],
        [("episodes", f"/v1/episodes?environment_id={env}&limit=25")],
    ]


PAGES = {
    "overview": overview,
    "environments": environments,
    "environment": environment,
    "build log": build_log,
    "tasks": tasks,
    "task": task,
    "episodes": episodes,
    "trajectory (open)": trajectory,
    "trajectory (page on)": trajectory_paging,
    "plots": plots,
    "submission": submission,
}


# ---------------------------------------------------------------- load


async def load_page(client: LoopbackClient, name: str, waves: list[Wave], run: Run) -> None:
    t0 = time.perf_counter()
    ok = True

    async def one(label: str, path: str) -> None:
        nonlocal ok
        sent = time.perf_counter()
        try:
            status, _ = await asyncio.wait_for(client.request("GET", path), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            status = 0
            run.errors.append(f"{label} {path}: {exc!r}")
        run.requests.append((label, (time.perf_counter() - sent) * 1000, status))
        if status != 200:
            ok = False
            if status:
                run.errors.append(f"{label} {path}: HTTP {status}")

    for wave in waves:
        await asyncio.gather(*(one(label, path) for label, path in wave))
    run.pages.append(PageSample(name, (time.perf_counter() - t0) * 1000, ok))


async def drive(url: str, key: str, st: Store, loads: int, users: int, seed: int) -> Run:
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit("the load generator only targets loopback")
    rng = random.Random(seed)
    client = LoopbackClient("127.0.0.1", int(url.rsplit(":", 1)[1]), {"Authorization": f"Bearer {key}"}, 64)
    # Warm-up, not measured: every page a few times (statement caches, connections, buffers).
    warm = Run()
    for _ in range(3):
        for name, make in PAGES.items():
            await load_page(client, name, make(rng, st), warm)
    if warm.errors:
        raise RuntimeError(f"errors while warming up: {warm.errors[:5]}")
    plan = [name for name in PAGES for _ in range(loads)]
    rng.shuffle(plan)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for name in plan:
        queue.put_nowait(name)
    run = Run()

    async def reader() -> None:
        while not queue.empty():
            name = queue.get_nowait()
            await load_page(client, name, PAGES[name](rng, st), run)

    await asyncio.gather(*(reader() for _ in range(users)))
    client.close()
    return run


# ---------------------------------------------------------------- report


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(pct(values, 0.5), 1),
        "p95_ms": round(pct(values, 0.95), 1),
        "p99_ms": round(pct(values, 0.99), 1),
        "max_ms": round(max(values), 1) if values else 0.0,
    }


def report(run: Run) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    pages = {name: summarize([p.ms for p in run.pages if p.page == name]) for name in PAGES}
    for name in pages:
        pages[name]["failed"] = sum(1 for p in run.pages if p.page == name and not p.ok)
    labels = sorted({label for label, _, _ in run.requests})
    endpoints = {label: summarize([ms for lb, ms, _ in run.requests if lb == label]) for label in labels}
    worst = max(pages, key=lambda n: pages[n]["p95_ms"])
    summary = {
        "p95_ms_by_page": {n: s["p95_ms"] for n, s in pages.items()},
        "overall_p95_ms": round(pct([p.ms for p in run.pages], 0.95), 1),
        "overall_p50_ms": round(pct([p.ms for p in run.pages], 0.5), 1),
        "worst_page": worst,
        "worst_page_p95_ms": pages[worst]["p95_ms"],
        "target_p95_ms": TARGET_MS,
        "failed_pages": sum(1 for p in run.pages if not p.ok),
        "meets_target": all(s["p95_ms"] < TARGET_MS for s in pages.values())
        and not any(not p.ok for p in run.pages),
    }
    return pages, endpoints, summary


def print_tables(pages: dict[str, Any], endpoints: dict[str, Any], summary: dict[str, Any]) -> None:
    for title, rows in (("page data (all of a page's requests)", pages), ("endpoints", endpoints)):
        table = Table(title=title)
        for col in ("", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"):
            table.add_column(col, justify="left" if not col else "right")
        for name, s in rows.items():
            p95 = f"{s['p95_ms']:.1f}"
            if rows is pages:
                p95 = f"[{'green' if s['p95_ms'] < TARGET_MS else 'red'}]{p95}[/]"
            table.add_row(
                name, str(s["n"]), f"{s['p50_ms']:.1f}", p95, f"{s['p99_ms']:.1f}", f"{s['max_ms']:.1f}"
            )
        console.print(table)
    s = summary
    verdict = "met" if s["meets_target"] else "NOT met"
    console.print(
        f"overall p95 [bold]{s['overall_p95_ms']} ms[/] (p50 {s['overall_p50_ms']} ms); worst page "
        f"{s['worst_page']} at {s['worst_page_p95_ms']} ms; target p95 < {TARGET_MS:g} ms per page: "
        f"[bold]{verdict}[/]"
    )


# ---------------------------------------------------------------- main


def store_facts(pg: str, vol: Volume) -> Store:
    with psycopg.connect(pg) as conn:
        verified = [int(r[0]) for r in conn.execute("SELECT id FROM environments WHERE status = 'verified'")]
        tasks = int(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])  # type: ignore[index]
        subs = int(conn.execute("SELECT count(*) FROM submissions").fetchone()[0])  # type: ignore[index]
    return Store(
        environments=vol.environments,
        verified=verified,
        tasks=tasks,
        episodes=vol.episodes,
        long_ids=list(range(vol.episodes + 1, vol.episodes + vol.long_episodes + 1)),
        long_steps=vol.long_steps,
        submissions=subs,
        names=vol.environments // 2,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    p.add_argument("--pg", default=os.environ.get("FORAGER_DATABASE_URL") or DEFAULT_PG)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="the broker the dashboard watches")
    p.add_argument("--environments", type=int, default=1000)
    p.add_argument("--tasks-per-env", type=int, default=4)
    p.add_argument("--episodes", type=int, default=10_000)
    p.add_argument("--steps-per-episode", type=int, default=100)
    p.add_argument("--long-episodes", type=int, default=2)
    p.add_argument("--long-steps", type=int, default=20_000)
    p.add_argument("--loads", type=int, default=150, help="measured loads of each page")
    p.add_argument("--users", type=int, default=4, help="pages loading at once")
    p.add_argument("--cache", action="store_true", help="keep the dashboard's 5 s aggregate cache on")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    if not args.pg.startswith("postgresql"):
        console.print("[red]--pg must be a PostgreSQL URL[/]")
        return 2

    vol = Volume(
        environments=args.environments,
        tasks_per_env=args.tasks_per_env,
        episodes=args.episodes,
        steps_per_episode=args.steps_per_episode,
        tests_per_env=40,
        submissions=500,
        long_episodes=args.long_episodes,
        long_steps=args.long_steps,
    )
    from forager.store.models import utcnow

    # Episodes finish every 7 s up to now: the overview's last hour and last day are full.
    base = utcnow() - timedelta(seconds=7 * args.episodes + 90)
    console.print(f"seeding a throwaway database: {vol}")
    db_name, pg, seed_info = seed_store(args.pg, vol, args.seed, prefix="forager_uiload", base=base)
    console.print(f"seeded {seed_info['rows']} ({seed_info['database_mb']} MB) in {seed_info['seed_s']} s")
    tmp = Path(tempfile.mkdtemp(prefix="forager-uiload-"))
    api: subprocess.Popen[bytes] | None = None
    try:
        from api.keys import ApiKeyStore

        key = ApiKeyStore(_sa_url(pg), PEPPER).create("ui-load-benchmark", "read").key
        env = {
            **os.environ,
            "FORAGER_DATABASE_URL": _sa_url(pg),
            "FORAGER_REDIS_URL": args.redis,
            "FORAGER_API_KEYS_PEPPER": PEPPER,
            "FORAGER_DATA_DIR": str(tmp / "data"),
            "FORAGER_INSTANCE": f"uiload-{uuid.uuid4().hex[:6]}",
            "FORAGER_API_LOG_REQUESTS": "false",
            "PYTHONPATH": str(ROOT),
        }
        if not args.cache:
            env["FORAGER_API_UI_CACHE_S"] = "0"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (tmp / "api.log").open("wb") as log:
            api = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
                 "--no-access-log", "--log-level", "warning"],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_ready(url, api)
        store = store_facts(pg, vol)
        console.print(
            f"loading each of {len(PAGES)} pages {args.loads} times, {args.users} at once, from {url}"
        )
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        run = asyncio.run(drive(url, key, store, args.loads, args.users, args.seed))
        wall = time.perf_counter() - t0
        pages, endpoints, summary = report(run)
        result = {
            "benchmark": "ui_load",
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "config": {
                "loads_per_page": args.loads,
                "users": args.users,
                "aggregate_cache": args.cache,
                "volume": vol.__dict__,
            },
            "seed": seed_info,
            "wall_s": round(wall, 1),
            # Other work on the machine competes for the same two cores: recorded, not hidden.
            "host_load": {
                "loadavg_1m_before": round(load_before[0], 2),
                "loadavg_1m_after": round(os.getloadavg()[0], 2),
            },
            "errors": run.errors[:50],
            "pages": pages,
            "endpoints": endpoints,
            "summary": summary,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print_tables(pages, endpoints, summary)
        console.print(f"wrote {args.out}")
        return 0
    finally:
        stop(api, "api")
        shutil.rmtree(tmp, ignore_errors=True)
        from forager.store.db import get_engine

        get_engine(_sa_url(pg)).dispose()
        if not args.keep_db:
            with psycopg.connect(_psycopg_url(args.pg), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
