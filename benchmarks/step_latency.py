"""Sandbox step latency and episode start-up, side by side with `docker exec`.

    .venv/bin/python benchmarks/step_latency.py --out results/step_latency.json

Measures, in one run and on the same container:
- a trivial step (`true`) through the sandbox's shell server, back to back and paced
  (a pause between steps, as an agent's model call makes), against the Docker SDK's
  `container.exec_run("true")`; steps are taken in alternating blocks so that load
  drifting on the host hits both sides alike;
- episode start-up: from asking for a sandbox to its first command answered, from the warm
  pool (refilled between episodes, as it is while episodes run) and cold (create, copy the
  server in, attach, start, ping).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from forager.dockerhost import get_docker
from forager.sandbox import Sandbox, SandboxConfig, SandboxPool, start_sandbox


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": pct(samples, 0.5),
        "p90": pct(samples, 0.9),
        "p99": pct(samples, 0.99),
        "mean": statistics.fmean(samples),
        "min": min(samples),
    }


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def step_latency(sb: Sandbox, iterations: int, block: int, pause_s: float) -> dict[str, list[float]]:
    container = sb.container

    def exec_true() -> None:
        if container.exec_run("true").exit_code != 0:
            raise RuntimeError("exec_run failed")

    def sandbox_true() -> None:
        if sb.run("true").exit_code != 0:
            raise RuntimeError("sandbox step failed")

    for _ in range(5):  # warm up both paths
        sandbox_true()
        exec_true()
    out: dict[str, list[float]] = {"sandbox": [], "sandbox_paced": [], "docker_exec": []}
    while len(out["docker_exec"]) < iterations:
        n = min(block, iterations - len(out["docker_exec"]))
        out["sandbox"] += [timed_ms(sandbox_true) for _ in range(n)]
        for _ in range(n):
            time.sleep(pause_s)
            out["sandbox_paced"].append(timed_ms(sandbox_true))
        out["docker_exec"] += [timed_ms(exec_true) for _ in range(n)]
    return out


def first_answer(make: Callable[[], Sandbox]) -> tuple[float, Sandbox]:
    start = time.perf_counter()
    sb = make()
    if sb.run("true").exit_code != 0:
        raise RuntimeError("first command failed")
    return time.perf_counter() - start, sb


def startups(image: str, config: SandboxConfig, episodes: int, pool_size: int) -> dict[str, list[float]]:
    cold, warm = [], []
    for i in range(episodes):
        seconds, sb = first_answer(functools.partial(start_sandbox, image, config, f"bench-cold-{i}"))
        cold.append(seconds)
        sb.close()
    with SandboxPool(config, size=pool_size) as pool:
        for i in range(episodes):
            pool.warm(image)  # episodes last minutes: the pool has refilled in between
            time.sleep(0.2)
            seconds, sb = first_answer(functools.partial(pool.acquire, image, f"bench-warm-{i}"))
            warm.append(seconds)
            sb.close()
    return {"cold": cold, "warm": warm}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--image", default="forager/base:bookworm")
    parser.add_argument("--iterations", type=int, default=200, help="trivial steps per method")
    parser.add_argument("--block", type=int, default=20, help="steps per alternating block")
    parser.add_argument("--pause-ms", type=float, default=20.0, help="pause before each paced step")
    parser.add_argument("--episodes", type=int, default=20, help="start-ups measured, warm and cold each")
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--log-driver", default="json-file", choices=["json-file", "local", "none"])
    args = parser.parse_args()

    config = SandboxConfig(log_driver=args.log_driver)
    client = get_docker()
    load_before = os.getloadavg()
    sb = start_sandbox(args.image, config, "bench-steps")
    try:
        steps = step_latency(sb, args.iterations, args.block, args.pause_ms / 1000)
    finally:
        sb.close()
    starts = startups(args.image, config, args.episodes, args.pool_size)
    load_after = os.getloadavg()

    results = {name: stats(samples) for name, samples in steps.items()}
    startup = {name: stats(samples) for name, samples in starts.items()}
    summary = {
        "sandbox_p50_ms": results["sandbox"]["p50"],
        "sandbox_p99_ms": results["sandbox"]["p99"],
        "sandbox_paced_p50_ms": results["sandbox_paced"]["p50"],
        "docker_exec_p50_ms": results["docker_exec"]["p50"],
        "docker_exec_p99_ms": results["docker_exec"]["p99"],
        "ratio_p50": results["sandbox"]["p50"] / results["docker_exec"]["p50"],
        "ratio_paced_p50": results["sandbox_paced"]["p50"] / results["docker_exec"]["p50"],
        "startup_p50_s": startup["warm"]["p50"],
        "startup_p99_s": startup["warm"]["p99"],
        "cold_startup_p50_s": startup["cold"]["p50"],
        "cold_startup_p99_s": startup["cold"]["p99"],
    }
    report = {
        "benchmark": "step_latency",
        "summary": summary,
        "steps_ms": results,
        "startup_s": startup,
        "settings": vars(args) | {"out": str(args.out)},
        "host": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "docker": client.version().get("Version"),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        },
        "raw": {"steps_ms": steps, "startup_s": starts},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))

    table = Table(title=f"sandbox step latency and start-up ({args.image})")
    for col in ("measure", "n", "p50", "p90", "p99"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    labels = {
        "sandbox": "sandbox step, back to back (ms)",
        "sandbox_paced": f"sandbox step, {args.pause_ms:g} ms apart (ms)",
        "docker_exec": "docker exec_run (ms)",
    }
    for name, row in results.items():
        cells = [f"{row[q]:.2f}" for q in ("p50", "p90", "p99")]
        table.add_row(labels[name], str(row["n"]), *cells)
    for name, row in startup.items():
        cells = [f"{row[q]:.3f}" for q in ("p50", "p90", "p99")]
        table.add_row(f"start-up, {name} (s)", str(row["n"]), *cells)
    console = Console()
    console.print(table)
    console.print(
        f"ratio p50 sandbox/exec: {summary['ratio_p50']:.3f} back to back, "
        f"{summary['ratio_paced_p50']:.3f} paced; load average {load_before[0]:.1f} -> {load_after[0]:.1f} "
        f"on {os.cpu_count()} CPUs; written to {args.out}"
    )


if __name__ == "__main__":
    main()
