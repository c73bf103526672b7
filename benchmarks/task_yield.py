"""Task yield over a corpus: candidates tried, valid tasks per family, drops, speed, recheck.

Usage: python benchmarks/task_yield.py --corpus ../shared/corpus/dev-sdists.txt --out results/task_yield.json
Environments are built (or reused, when the store already has them verified) with the
configured settings; every stored task is then re-proven in a fresh sandbox.

Candidates are proven one at a time in one sandbox (one pytest process at a time, i.e. one
core's worth of work), so `candidates_per_min_per_core` is candidates per minute of proving;
`--jobs N` runs N projects at once, each still one candidate at a time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rich.console import Console
from rich.table import Table

from forager.cli.env_cmd import read_corpus
from forager.config import get_settings
from forager.envs.harvest import build_from_source
from forager.store.tasks import TaskStore
from forager.tasks.generate import GenerateOptions, generate_tasks
from forager.tasks.recheck import recheck_tasks

console = Console(width=200)


def one_project(spec: str, max_tasks: int, max_candidates: int) -> dict[str, object]:
    """Build (or reuse) the project's environment, generate its tasks, re-prove every one."""
    settings = get_settings()
    tasks = TaskStore(settings.db_url)
    t0 = time.monotonic()
    try:
        env = build_from_source(spec, settings)
    except Exception as exc:
        return {"project": spec, "verified": False, "reason": str(exc)[:200]}
    if env.status != "verified":
        return {"project": spec, "verified": False, "reason": (env.reason or "")[:200]}
    report = generate_tasks(
        env.id, settings, GenerateOptions(max_tasks=max_tasks, max_candidates=max_candidates)
    )
    stored = [tasks.get(t) for t in report.task_ids]
    r0 = time.monotonic()
    checks = recheck_tasks(stored, settings) if stored else []
    return {
        "project": spec,
        "verified": True,
        "env_id": env.id,
        "functions_covered": report.functions_covered,
        "candidates_enumerated": report.candidates_enumerated,
        "candidates_tried": report.candidates_tried,
        "valid_tasks": len(report.task_ids),
        "valid_by_family": report.valid_by_family,
        "dropped_by_reason": report.dropped_by_reason,
        "duplicates": report.duplicates,
        "coverage_s": report.coverage_s,
        "prove_s": report.prove_s,
        "recheck_s": round(time.monotonic() - r0, 2),
        "invalid_on_recheck": sum(1 for c in checks if not c.valid),
        "invalid_reasons": [c.why for c in checks if not c.valid][:5],
        "wall_s": round(time.monotonic() - t0, 1),
    }


def summarize(corpus: Path, rows: list[dict[str, object]], total: int) -> dict[str, object]:
    done = [r for r in rows if r.get("verified")]

    def col(name: str) -> list[float]:
        return [float(str(r[name])) for r in done]

    prove_min = sum(col("prove_s")) / 60
    summary = {
        "projects": len(rows),
        "of_corpus": total,
        "verified": len(done),
        "median_valid_tasks": statistics.median(col("valid_tasks")) if done else 0,
        "candidates_per_min_per_core": round(sum(col("candidates_tried")) / prove_min, 1)
        if prove_min
        else None,
        "invalid_on_recheck": int(sum(col("invalid_on_recheck"))),
        "tasks_total": int(sum(col("valid_tasks"))),
        "targets": {
            "median_valid_tasks": ">= 50",
            "candidates_per_min_per_core": ">= 20",
            "invalid_on_recheck": "0",
        },
    }
    return {"benchmark": "task_yield", "corpus": str(corpus), "rows": rows, "summary": summary}


def run(
    corpus: Path, limit: int | None, max_tasks: int, max_candidates: int, jobs: int, out: Path
) -> dict[str, object]:
    """Projects run in `jobs` processes (each proves one candidate at a time, so one core's
    work); the JSON is rewritten after every project, so an interrupted run keeps its rows."""
    specs = read_corpus(corpus)[:limit]
    order = {spec: i for i, spec in enumerate(specs)}
    rows: list[dict[str, object]] = []
    result = summarize(corpus, rows, len(specs))
    out.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(one_project, spec, max_tasks, max_candidates): spec for spec in specs}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # a crash of the generator: recorded, the run goes on
                row = {
                    "project": spec,
                    "verified": True,
                    "error": f"{type(exc).__name__}: {exc}"[:300],
                    "candidates_tried": 0,
                    "valid_tasks": 0,
                    "prove_s": 0.0,
                    "invalid_on_recheck": 0,
                }
            rows.append(row)
            rows.sort(key=lambda r: order[str(r["project"])])
            console.print(f"[{len(rows)}/{len(specs)}] {json.dumps(row)[:300]}")
            result = summarize(corpus, rows, len(specs))
            out.write_text(json.dumps(result, indent=2))
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--max-tasks", type=int, default=60, help="stop a project's generation at this many")
    ap.add_argument("--max-candidates", type=int, default=200, help="candidates tried per project at most")
    ap.add_argument("--jobs", type=int, default=1, help="projects proven in parallel (one core each)")
    args = ap.parse_args()
    result = run(args.corpus, args.limit, args.max_tasks, args.max_candidates, max(1, args.jobs), args.out)
    t = Table(title="task_yield")
    cols = [
        "project",
        "candidates_tried",
        "valid_tasks",
        "invalid_on_recheck",
        "prove_s",
        "recheck_s",
        "dropped_by_reason",
    ]
    for c in cols:
        t.add_column(c)
    for r in result["rows"]:  # type: ignore[attr-defined]
        t.add_row(*[str(r.get(c, r.get("reason", "")))[:60] for c in cols])
    console.print(t)
    console.print_json(json.dumps(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
