"""Trace collection benchmark over a corpus: traced vs untraced suite time, traces and bytes.

Usage: python benchmarks/trace_overhead.py --corpus ../shared/corpus/dev-sdists.txt \
    --out results/trace_overhead.json [--limit N] [--repeat N] [--data-dir DIR]

Each project is built (or its verified environment reused) in a throwaway store under
--data-dir (SQLite); after an untimed warm-up run its suite runs untraced and traced side by
side, in fresh containers with the same settings; the times are the suite command's own
(inside the container, without container start-up). With --repeat N the pair runs N times
and the median slowdown counts.
Other settings (CA files, base images) come from FORAGER_* variables, as for the CLI.
Target: median slowdown at most 8x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from forager.cli.env_cmd import read_corpus
from forager.config import Settings
from forager.envs.harvest import build_from_source
from forager.errors import ForagerError
from forager.traces.collect import DEFAULT_CONFIG, CollectOptions, TraceReport, collect_traces, time_untraced

console = Console(width=200)
TARGET_MEDIAN_SLOWDOWN = 8.0


def bench_project(spec: str, settings: Settings, repeat: int) -> dict[str, Any]:
    t0 = time.monotonic()
    try:
        env = build_from_source(spec, settings)
    except ForagerError as exc:
        return {"project": spec, "verified": False, "reason": str(exc)[:300]}
    row: dict[str, Any] = {
        "project": spec,
        "env_id": env.id,
        "verified": env.status == "verified",
        "python": env.python,
        "build_s": round(time.monotonic() - t0, 1),
    }
    if env.status != "verified":
        row["reason"] = (env.reason or "")[:300]
        return row
    # The first container of an image reads its files from disk, later ones from the page
    # cache: a warm-up run keeps that out of the untraced/traced comparison.
    warmup = time_untraced(env.id, settings)
    row["warmup_s"] = round(warmup, 2) if warmup is not None else None
    reports: list[TraceReport] = []
    for _ in range(repeat):
        try:
            reports.append(
                collect_traces(
                    env.id, settings, config=DEFAULT_CONFIG, options=CollectOptions(measure_untraced=True)
                )
            )
        except ForagerError as exc:
            row["reason"] = str(exc)[:300]
            return row
    last = reports[-1]
    slowdowns = [r.slowdown for r in reports if r.slowdown is not None]
    row.update(
        {
            "tests": last.tests_run,
            "untraced_s": round(statistics.median(r.untraced_seconds or 0.0 for r in reports), 2),
            "traced_s": round(statistics.median(r.traced_seconds or 0.0 for r in reports), 2),
            "slowdown": round(statistics.median(slowdowns), 2) if slowdowns else None,
            "traces": last.traces_collected,
            "functions": last.functions,
            "bytes": last.bytes,
            "recorded": last.traces_recorded,
            "dropped": last.dropped_by_reason,
            "outcome_changes": len(last.outcome_changes),
            "changed_tests": [c.model_dump() for c in last.outcome_changes[:10]],
            "repo_changes": last.repo_changes,
            "backend": last.backend,
            "tracer_errors": last.tracer_errors[:5],
        }
    )
    return row


def run(corpus: Path, limit: int | None, data_dir: Path, repeat: int) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, database_url=None, instance="bench-traces")
    specs = read_corpus(corpus)[:limit]
    rows: list[dict[str, Any]] = []
    for i, spec in enumerate(specs, 1):
        console.print(f"[{i}/{len(specs)}] {spec}")
        try:
            rows.append(bench_project(spec, settings, repeat))
        except Exception as exc:  # one broken project must not lose the others' results
            console.print_exception()
            rows.append({"project": spec, "verified": False, "reason": f"{type(exc).__name__}: {exc}"[:300]})
        console.print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("changed_tests",)}))
    measured = [r for r in rows if r.get("slowdown") is not None]
    slowdowns = [float(r["slowdown"]) for r in measured]
    median = round(statistics.median(slowdowns), 2) if slowdowns else None
    summary = {
        "projects": len(rows),
        "measured": len(measured),
        "median_slowdown": median,
        "max_slowdown": max(slowdowns) if slowdowns else None,
        "traces_total": sum(int(r.get("traces", 0)) for r in rows),
        "bytes_total": sum(int(r.get("bytes", 0)) for r in rows),
        "outcome_changes_total": sum(int(r.get("outcome_changes", 0)) for r in rows),
        "repeat": repeat,
        "target": f"median_slowdown <= {TARGET_MEDIAN_SLOWDOWN}",
        "target_met": median is not None and median <= TARGET_MEDIAN_SLOWDOWN,
    }
    return {"benchmark": "trace_overhead", "corpus": str(corpus), "rows": rows, "summary": summary}


def print_table(result: dict[str, Any]) -> None:
    t = Table(title="trace_overhead")
    cols = [
        "project",
        "python",
        "tests",
        "untraced_s",
        "traced_s",
        "slowdown",
        "traces",
        "functions",
        "bytes",
    ]
    for c in [*cols, "outcome_changes", "dropped"]:
        t.add_column(c)
    for r in result["rows"]:
        cells = [("" if r.get(c) is None else str(r.get(c))) for c in cols]
        dropped = r.get("dropped") or {}
        extra = [str(r.get("outcome_changes", "")), ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))]
        if not r.get("verified"):
            extra[-1] = f"not measured: {r.get('reason', '')}"[:80]
        t.add_row(*cells, *extra)
    console.print(t)
    console.print_json(json.dumps(result["summary"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="only the first N projects")
    ap.add_argument("--repeat", type=int, default=1, help="untraced/traced pairs per project")
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "forager-trace-bench",
        help="throwaway store and sources (kept between runs, so verified environments are reused)",
    )
    args = ap.parse_args()
    result = run(args.corpus, args.limit, args.data_dir, max(1, args.repeat))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
