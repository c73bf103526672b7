"""REST API under load: list and submit latency at a target rate, on a realistically large store.

Usage: python benchmarks/api_load.py --out RESULT.json [--pg URL] [--rate 200] [--duration 30]

1. Creates a throwaway database next to the one named by --pg (or FORAGER_DATABASE_URL, else
   the local forager/forager role) and seeds it with COPY: a few thousand sources, snapshots,
   environments (with build attempts and test baselines) and tasks, 50k episodes with 500k
   steps, and finished submissions with stage timestamps.
2. Starts the API (`uvicorn api.app:app`) in a subprocess on 127.0.0.1 at a free port, and a
   Celery worker subprocess (`celery -A workers.app worker`), both on a throwaway Redis
   database (--redis-db, which must be empty) with their own FORAGER_DATA_DIR and instance.
3. From a second process drives open-loop load at --rate requests/s for at most --duration
   seconds and --max-requests requests (loopback only): the list endpoints (environments,
   episodes, tasks; with and without filters, offset and keyset pages) and, for
   --submit-share of the requests, `POST /v1/sources` with pypi: specs.
4. Reports p50/p90/p99/max latency and achieved throughput per endpoint, writes JSON whose
   `summary` has list_p50_ms, list_p99_ms and list_rps; target: list p99 < 100 ms at 200 rps.

Latency is measured from each request's *scheduled* send time (open loop), so a server that
falls behind cannot hide its queueing behind a load generator that waits for it.

Workers and submissions: submissions land on the `build` queue. By default the worker consumes
only `tasks` and `episodes`, which nothing feeds during the run: it is a live, connected
worker process, but the submitted sources are not built (real image builds of PyPI sdists
would take the machine's two cores and measure Docker, not the API). `--worker-queues
build,tasks,episodes` runs the real pipeline instead (needs Docker and the base images).
Everything started is stopped at the end; the database is dropped (unless --keep-db) and the
Redis database flushed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from rich.console import Console
from rich.table import Table

# The big-store seeder, shared with ui_load.py (benchmarks run as scripts from this folder).
from big_store import FAMILIES, Volume, _psycopg_url, _sa_url, seed_store  # isort: skip

console = Console(width=160)
DEFAULT_PG = "postgresql://forager:forager@127.0.0.1:5432/forager"
PEPPER = "api-load-benchmark-pepper"
ROOT = Path(__file__).resolve().parent.parent
PYPI_SPECS = ("attrs==25.3.0", "idna==3.10", "six==1.17.0", "packaging==25.0", "iniconfig==2.1.0")


def create_key(pg: str) -> str:
    from api.keys import ApiKeyStore

    return ApiKeyStore(_sa_url(pg), PEPPER).create("api-load-benchmark", "admin").key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the API did not become ready in time")


def stop(proc: subprocess.Popen[bytes] | None, name: str) -> None:
    if proc is None or proc.poll() is not None:
        return
    # Our own children only, by pid: SIGTERM (graceful), then SIGKILL after a grace period.
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        console.print(f"[yellow]{name} did not stop in 20 s; killing it[/]")
        proc.kill()
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process and its live children (uvicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# ---------------------------------------------------------------- load generator (2nd process)


@dataclass
class LoadPlan:
    url: str
    key: str
    rate: float
    duration_s: float
    max_requests: int
    submit_share: float
    seed: int
    env_max: int
    episode_max: int
    task_max: int
    concurrency: int = 256
    warmup: int = 600


@dataclass
class Sample:
    endpoint: str
    kind: str  # list | submit
    scheduled: float
    latency_ms: float
    lag_ms: float  # how late the generator started it (its own health, not the server's)
    status: int


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def _request_for(rng: random.Random, plan: LoadPlan) -> tuple[str, str, str, dict[str, Any] | None]:
    """(endpoint label, kind, path with query, JSON body or None) of the next request."""
    if rng.random() < plan.submit_share:
        return "POST /v1/sources", "submit", "/v1/sources", {"source": f"pypi:{rng.choice(PYPI_SPECS)}"}
    r = rng.random()
    env = rng.randint(1, plan.env_max)
    if r < 0.12:
        return "GET /v1/environments", "list", "/v1/environments", None
    if r < 0.24:
        st = rng.choice(("verified", "failed"))
        return "GET /v1/environments?status", "list", f"/v1/environments?status={st}&limit=100", None
    if r < 0.30:
        return "GET /v1/environments?name", "list", f"/v1/environments?name=project-{env // 2}", None
    if r < 0.42:
        return "GET /v1/episodes", "list", f"/v1/episodes?limit={rng.choice((20, 50, 100))}", None
    if r < 0.56:
        return "GET /v1/episodes?environment_id", "list", f"/v1/episodes?environment_id={env}", None
    if r < 0.64:
        ex = rng.choice(("submitted", "step_limit", "format_error"))
        return "GET /v1/episodes?exit_status", "list", f"/v1/episodes?exit_status={ex}", None
    if r < 0.72:
        cursor = rng.randint(1, plan.episode_max)
        return "GET /v1/episodes?after_id", "list", f"/v1/episodes?after_id={cursor}&limit=100", None
    if r < 0.82:
        return "GET /v1/tasks?environment_id", "list", f"/v1/tasks?environment_id={env}", None
    if r < 0.92:
        fam = rng.choice(FAMILIES)
        return "GET /v1/tasks?family", "list", f"/v1/tasks?family={fam}&order=asc", None
    cursor = rng.randint(1, plan.task_max)
    return "GET /v1/tasks?after_id", "list", f"/v1/tasks?after_id={cursor}", None


class _Stale(ConnectionError):
    """A kept-alive connection that the server had closed before our request."""


class LoopbackClient:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams.

    httpx costs about a millisecond of CPU per request; on a two-core machine that is CPU
    taken from the server under test. This client does only what the benchmark needs
    (GET/POST with Content-Length responses, which every measured endpoint sends).
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], max_connections: int) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.sem = asyncio.Semaphore(max_connections)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        async with self.sem:
            while self.idle:
                reader, writer, since = self.idle.pop()
                # The server drops keep-alive connections idle for 5 s; do not race it.
                if time.monotonic() - since < 3.0:
                    try:
                        return await self._exchange(reader, writer, method, path, body)
                    except _Stale:
                        continue  # closed by the server before it read anything: a new one
                writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            return await self._exchange(reader, writer, method, path, body)

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        body: bytes | None,
    ) -> tuple[int, bytes]:
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        try:
            writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + (body or b""))
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            writer.close()
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise
            raise _Stale from exc
        try:
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            payload = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def _drive(plan: LoadPlan) -> LoadResult:
    if not plan.url.startswith("http://127.0.0.1:"):
        raise SystemExit("the load generator only targets loopback")
    rng = random.Random(plan.seed)
    port = int(plan.url.rsplit(":", 1)[1])
    client = LoopbackClient("127.0.0.1", port, {"Authorization": f"Bearer {plan.key}"}, plan.concurrency)
    result = LoadResult()
    # Warm-up, not measured: 16 requests at a time, so that the API's read pool and threads,
    # our connections and PostgreSQL's caches are all in the state the load keeps them in.
    warm = [_request_for(rng, plan) for _ in range(plan.warmup)]
    paths = [path for _label, kind, path, _body in warm if kind == "list"]
    for i in range(0, len(paths), 16):
        await asyncio.gather(*(client.request("GET", p) for p in paths[i : i + 16]))

    async def one(label: str, kind: str, path: str, body: dict[str, Any] | None, at: float) -> None:
        sent = time.perf_counter()
        try:
            if body is None:
                status, _ = await asyncio.wait_for(client.request("GET", path), 30)
            else:
                status, _ = await asyncio.wait_for(
                    client.request("POST", path, json.dumps(body).encode()), 30
                )
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            status = 0
            result.errors.append(f"{label}: {exc!r}")
        done = time.perf_counter()
        result.samples.append(Sample(label, kind, at, (done - at) * 1000, (sent - at) * 1000, status))

    tasks: list[asyncio.Task[None]] = []
    t0 = time.perf_counter()
    interval = 1.0 / plan.rate
    for i in range(plan.max_requests):
        at = t0 + i * interval
        if at - t0 > plan.duration_s:
            break
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*_request_for(rng, plan), at)))
    await asyncio.gather(*tasks)
    result.wall_s = time.perf_counter() - t0
    client.close()
    return result


def _drive_entry(plan: LoadPlan, out_path: str) -> None:
    cpu0 = time.process_time()
    result = asyncio.run(_drive(plan))
    cpu = time.process_time() - cpu0
    Path(out_path).write_text(
        json.dumps(
            {
                "wall_s": result.wall_s,
                "cpu_s": round(cpu, 2),
                "errors": result.errors[:50],
                "samples": [s.__dict__ for s in result.samples],
            }
        )
    )


# ---------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def stats(samples: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    lat = [s["latency_ms"] for s in samples]
    return {
        "n": len(samples),
        "non_2xx": sum(1 for s in samples if not 200 <= s["status"] < 300),
        "statuses": {str(code): n for code, n in sorted(Counter(s["status"] for s in samples).items())},
        "p50_ms": round(pct(lat, 0.5), 2),
        "p90_ms": round(pct(lat, 0.9), 2),
        "p99_ms": round(pct(lat, 0.99), 2),
        "max_ms": round(max(lat), 2) if lat else 0.0,
        "rps": round(len(samples) / wall_s, 1) if wall_s else 0.0,
    }


def timeline(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-second list latency: shows whether a tail is spread out or one stall."""
    if not samples:
        return []
    t0 = min(s["scheduled"] for s in samples)
    by_second: dict[int, list[float]] = {}
    for s in samples:
        if s["kind"] == "list":
            by_second.setdefault(int(s["scheduled"] - t0), []).append(s["latency_ms"])
    return [
        {"second": sec, "n": len(v), "p50_ms": round(pct(v, 0.5), 1), "p99_ms": round(pct(v, 0.99), 1)}
        for sec, v in sorted(by_second.items())
    ]


def report(raw: dict[str, Any], plan: LoadPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    samples = raw["samples"]
    wall = raw["wall_s"]
    endpoints: dict[str, Any] = {}
    for label in sorted({s["endpoint"] for s in samples}):
        endpoints[label] = stats([s for s in samples if s["endpoint"] == label], wall)
    lists = [s for s in samples if s["kind"] == "list"]
    submits = [s for s in samples if s["kind"] == "submit"]
    ls, ss, all_ = stats(lists, wall), stats(submits, wall), stats(samples, wall)
    lag = [s["lag_ms"] for s in samples]
    summary = {
        "list_p50_ms": ls["p50_ms"],
        "list_p99_ms": ls["p99_ms"],
        "list_rps": ls["rps"],
        "list_requests": ls["n"],
        "submit_p50_ms": ss["p50_ms"],
        "submit_p99_ms": ss["p99_ms"],
        "submit_rps": ss["rps"],
        "submit_requests": ss["n"],
        "target_rps": plan.rate,
        "achieved_rps": all_["rps"],
        "non_2xx": all_["non_2xx"],
        "transport_errors": len(raw["errors"]),
        "generator_lag_p99_ms": round(pct(lag, 0.99), 2),
        "meets_target": bool(ls["p99_ms"] < 100 and all_["rps"] >= 0.95 * plan.rate and all_["non_2xx"] == 0),
    }
    return endpoints, summary


def print_table(endpoints: dict[str, Any], summary: dict[str, Any]) -> None:
    table = Table(title="API load (latency from scheduled send time)")
    for col in ("endpoint", "n", "non-2xx", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"):
        table.add_column(col, justify="left" if col == "endpoint" else "right")
    for label, st in endpoints.items():
        table.add_row(
            label,
            str(st["n"]),
            str(st["non_2xx"]),
            f"{st['p50_ms']:.1f}",
            f"{st['p90_ms']:.1f}",
            f"{st['p99_ms']:.1f}",
            f"{st['max_ms']:.1f}",
            f"{st['rps']:.1f}",
        )
    console.print(table)
    verdict = "[green]met[/]" if summary["meets_target"] else "[red]not met[/]"
    console.print(
        f"lists: p50 [bold]{summary['list_p50_ms']}[/] ms, p99 [bold]{summary['list_p99_ms']}[/] ms, "
        f"{summary['list_rps']} req/s; submits: p50 {summary['submit_p50_ms']} ms, "
        f"p99 {summary['submit_p99_ms']} ms; total {summary['achieved_rps']} of "
        f"{summary['target_rps']} req/s -> target (list p99 < 100 ms at {summary['target_rps']:g} rps): "
        f"{verdict}"
    )


# ---------------------------------------------------------------- main


def _procs(
    before: dict[str, float], api: subprocess.Popen[bytes], worker: subprocess.Popen[bytes] | None
) -> list[tuple[str, float, subprocess.Popen[bytes]]]:
    out = [("api", before["api"], api)]
    if worker is not None:
        out.append(("worker", before["worker"], worker))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--pg", default=os.environ.get("FORAGER_DATABASE_URL", DEFAULT_PG))
    p.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis server (no db number)")
    p.add_argument("--redis-db", type=int, default=13, help="throwaway database number; must be empty")
    p.add_argument("--rate", type=float, default=200.0, help="target requests per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of measured load (upper bound)")
    p.add_argument(
        "--max-requests", type=int, default=0, help="upper bound on requests (default rate*duration)"
    )
    p.add_argument("--submit-share", type=float, default=0.02, help="share of requests that submit")
    p.add_argument("--environments", type=int, default=3000)
    p.add_argument("--tasks-per-env", type=int, default=2)
    p.add_argument("--episodes", type=int, default=50_000)
    p.add_argument("--steps-per-episode", type=int, default=10)
    p.add_argument(
        "--api-workers", type=int, default=os.cpu_count() or 1, help="uvicorn worker processes (one per core)"
    )
    p.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")
    p.add_argument("--worker-queues", default="tasks,episodes", help="queues the worker consumes (see above)")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--samples", type=Path, help="also write every request's timing here (JSON)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()

    redis_url = f"{args.redis.rstrip('/')}/{args.redis_db}"
    r = redis.Redis.from_url(redis_url)
    if r.dbsize():
        console.print(f"[red]Redis database {args.redis_db} is not empty; pick another with --redis-db[/]")
        return 2
    vol = Volume(args.environments, args.tasks_per_env, args.episodes, args.steps_per_episode)
    console.print(f"seeding a throwaway database: {vol}")
    db_name, pg, seed_info = seed_store(args.pg, vol, args.seed)
    console.print(f"seeded {seed_info['rows']} ({seed_info['database_mb']} MB) in {seed_info['seed_s']} s")
    tmp = Path(tempfile.mkdtemp(prefix="forager-apiload-"))
    api_proc: subprocess.Popen[bytes] | None = None
    worker_proc: subprocess.Popen[bytes] | None = None
    try:
        key = create_key(pg)
        env = {
            **os.environ,
            "FORAGER_DATABASE_URL": _sa_url(pg),
            "FORAGER_REDIS_URL": redis_url,
            "FORAGER_API_KEYS_PEPPER": PEPPER,
            "FORAGER_DATA_DIR": str(tmp / "data"),
            "FORAGER_INSTANCE": f"apiload-{uuid.uuid4().hex[:6]}",
            "FORAGER_API_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT),
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        api_log = (tmp / "api.log").open("wb")
        api_proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.api_workers), "--no-access-log", "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=api_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        if not args.no_worker:
            worker_log = (tmp / "worker.log").open("wb")
            worker_proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", args.worker_queues,
                 "--concurrency", "1", "--loglevel", "WARNING", "-n", f"apiload-{port}@%h"],
                env=env, cwd=ROOT, stdout=worker_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_ready(url, api_proc)
        if worker_proc is not None:
            time.sleep(3)
            if worker_proc.poll() is not None:
                raise RuntimeError(f"the worker exited early; see {tmp / 'worker.log'}")
        plan = LoadPlan(
            url=url,
            key=key,
            rate=args.rate,
            duration_s=args.duration,
            max_requests=args.max_requests or int(args.rate * args.duration),
            submit_share=args.submit_share,
            seed=args.seed,
            env_max=args.environments,
            episode_max=args.episodes,
            task_max=max(1, seed_info["rows"]["tasks"]),
        )
        console.print(f"driving {plan.rate:g} req/s for up to {plan.duration_s:g} s against {url}")
        ctx = multiprocessing.get_context("spawn")
        raw_path = tmp / "samples.json"
        driver = ctx.Process(target=_drive_entry, args=(plan, str(raw_path)))
        load_before = os.getloadavg()
        cpu_before = {"api": cpu_seconds(api_proc.pid)}
        if worker_proc is not None:
            cpu_before["worker"] = cpu_seconds(worker_proc.pid)
        driver.start()
        driver.join(timeout=plan.duration_s + 300)
        if driver.is_alive():
            driver.terminate()
            raise RuntimeError("the load generator did not finish")
        cpu = {k: round(cpu_seconds(p.pid) - v, 2) for k, v, p in _procs(cpu_before, api_proc, worker_proc)}
        load_after = os.getloadavg()
        raw = json.loads(raw_path.read_text())
        endpoints, summary = report(raw, plan)
        queued = int(r.llen("build"))  # type: ignore[arg-type]
        accepted = sum(1 for s in raw["samples"] if s["kind"] == "submit" and s["status"] == 202)
        if worker_proc is not None and worker_proc.poll() is not None:
            raise RuntimeError(f"the worker died during the run; see {tmp / 'worker.log'}")
        result = {
            "benchmark": "api_load",
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "config": {
                "rate": args.rate,
                "duration_s": args.duration,
                "max_requests": plan.max_requests,
                "submit_share": args.submit_share,
                "api_workers": args.api_workers,
                "worker": None if args.no_worker else {"queues": args.worker_queues, "concurrency": 1},
                "volume": vol.__dict__,
            },
            "seed": seed_info,
            "wall_s": round(raw["wall_s"], 2),
            "submissions": {"accepted": accepted, "queued_on_build": queued},
            # Other work on the machine competes for the same two cores: it is recorded, not hidden.
            "host_load": {
                "loadavg_1m_before": round(load_before[0], 2),
                "loadavg_1m_after": round(load_after[0], 2),
            },
            "cpu_s": {**cpu, "load_generator": raw["cpu_s"]},
            "errors": raw["errors"],
            "endpoints": endpoints,
            "timeline": timeline(raw["samples"]),
            "summary": summary,
        }
        if args.samples:
            args.samples.write_text(json.dumps(raw["samples"]))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print_table(endpoints, summary)
        console.print(
            f"submissions accepted {accepted}, waiting on the build queue {queued}; wrote {args.out}"
        )
        return 0
    finally:
        if driver is not None and driver.is_alive():
            driver.terminate()
            driver.join(timeout=10)
        stop(worker_proc, "worker")
        stop(api_proc, "api")
        r.flushdb()  # checked empty at the start: only this run's messages are in it
        shutil.rmtree(tmp, ignore_errors=True)
        from forager.store.db import get_engine

        get_engine(_sa_url(pg)).dispose()
        if not args.keep_db:
            with psycopg.connect(_psycopg_url(args.pg), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
