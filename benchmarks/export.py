"""Export benchmark: Forager's export beside PostgreSQL's own COPY of the same rows, and packing.

Usage: python benchmarks/export.py --out RESULT.json [--pg URL] [--steps 200000] [--keep-db]
       [--workers N] [--zstd-level L] [--format F ...]   (export options; default: ExportOptions())

Creates a throwaway database next to the one named by --pg (or FORAGER_DATABASE_URL, else the
local forager/forager role), seeds it with COPY (sources, environments, tasks, finished and
running episodes, at least --steps finished steps), then measures in one run:

After one unmeasured round of each (a 500-episode export and a COPY), `--rounds` alternating
rounds of:

- `copy`: `COPY (SELECT <the step columns the export reads> FROM steps JOIN episodes ... WHERE
  finished ORDER BY episode, index) TO STDOUT` read through psycopg's `cursor.copy()`;
- `export`: `run_export` into a fresh folder (its default format, Parquet, unless --format says
  otherwise; dedup, split, decontamination);
- `packing`: the torch dataset over the exported train shards (byte-level tokens), real tokens
  over all slots of the packed sequences.

`ratio` = median export rows/s over median COPY rows/s, rows being the finished steps (the export must read
exactly COPY's rows, or the run stops). Targets: ratio >= 0.5, packing_efficiency >= 0.97;
`summary.meets_targets` says whether both were met (the exit code is 0 either way).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from forager.config import Settings
from forager.store.db import get_engine, migrate
from model.export import ExportOptions, run_export
from model.export.parallel import worker_count

console = Console(width=160)
DEFAULT_PG = "postgresql://forager:forager@127.0.0.1:5432/forager"

# The columns the export reads from `steps`, in its order; COPY reads exactly these rows.
COPY_QUERY = (
    "COPY (SELECT s.episode_id, s.raw_output, s.observation FROM steps s "
    "JOIN episodes e ON e.id = s.episode_id WHERE e.status = 'finished' "
    "ORDER BY s.episode_id, s.index) TO STDOUT"
)

THOUGHT_WORDS = [
    "the",
    "test",
    "fails",
    "because",
    "function",
    "returns",
    "value",
    "instead",
    "of",
    "list",
    "let",
    "me",
    "check",
    "which",
    "argument",
    "is",
    "passed",
    "here",
    "maybe",
    "the",
    "loop",
    "skips",
    "last",
    "element",
    "so",
    "I",
    "should",
    "look",
    "at",
    "how",
    "parser",
    "handles",
    "empty",
    "input",
    "and",
    "then",
    "run",
    "tests",
    "again",
    "after",
    "fixing",
    "off",
    "by",
    "one",
    "error",
    "in",
    "slicing",
    "code",
    "path",
    "seems",
    "wrong",
    "variable",
    "name",
    "swapped",
    "order",
    "inside",
    "helper",
    "call",
    "now",
    "verify",
    "output",
    "matches",
    "expected",
]


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgresql+psycopg2://", "postgresql://"
    )


def _sa_url(url: str) -> str:
    return _psycopg_url(url).replace("postgresql://", "postgresql+psycopg://", 1)


class Corpus:
    """Seeded text that looks like agent steps: thoughts + tool calls, code and test output."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syll = ["get", "set", "load", "parse", "item", "node", "tree", "val", "key", "conf", "path", "run"]
        self.idents = [
            f"{self.rng.choice(syll)}_{self.rng.choice(syll)}{self.rng.randrange(1000)}" for _ in range(6000)
        ]

    def code_line(self) -> str:
        r = self.rng
        a, b, c = r.choice(self.idents), r.choice(self.idents), r.choice(self.idents)
        return r.choice(
            (
                f"    {a} = {b}({c}, {r.randrange(100)})",
                f"    if {a} is None or {b} > {r.randrange(50)}:",
                f"        return {a}.{b}({c})",
                f"def {a}({b}, {c}=None):",
                f"tests/test_{a}.py::test_{b} {r.choice(('PASSED', 'FAILED', 'PASSED', 'PASSED'))}",
                f"E       AssertionError: assert {r.randrange(9)} == {r.randrange(9)}",
            )
        )

    def action(self) -> str:
        r = self.rng
        thought = " ".join(r.choice(THOUGHT_WORDS) for _ in range(r.randint(8, 40)))
        tool = r.random()
        if tool < 0.4:
            body = f"pytest -x tests/test_{r.choice(self.idents)}.py -k {r.choice(self.idents)}"
            return f"{thought}\n<tool: bash>\n{body}\n</tool>"
        if tool < 0.7:
            return f"{thought}\n<tool: view>\nsrc/{r.choice(self.idents)}.py\n</tool>"
        search = "\n".join(self.code_line() for _ in range(r.randint(1, 4)))
        replace = "\n".join(self.code_line() for _ in range(r.randint(1, 4)))
        path = f"src/{r.choice(self.idents)}.py"
        block = f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"
        return f"{thought}\n<tool: edit>\n{path}\n{block}\n</tool>"

    def observation(self) -> str:
        n = min(120, int(self.rng.lognormvariate(2.6, 0.8)) + 1)
        return "\n".join(self.code_line() for _ in range(n))


def seed_store(admin_url: str, steps_target: int, seed: int) -> tuple[str, dict[str, Any]]:
    """A new database with the schema and at least steps_target finished steps."""
    name = f"forager_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_psycopg_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg = _psycopg_url(admin_url).rsplit("/", 1)[0] + "/" + name
    migrate(_sa_url(pg))
    corpus = Corpus(seed)
    rng = corpus.rng
    now = datetime(2026, 1, 1)
    repos = 150
    t0 = time.monotonic()
    finished_steps = episodes = running = 0
    with psycopg.connect(pg) as conn, conn.cursor() as cur:
        with cur.copy("COPY sources (id, spec, kind, created_at) FROM STDIN") as cp:
            for i in range(1, repos + 1):
                cp.write_row((i, f"https://github.com/org{i % 37}/project-{i}", "git", now))
        with cur.copy(
            "COPY snapshots (id, source_id, ref, commit_sha, name, repo_path, file_count, total_bytes, "
            "created_at) FROM STDIN"
        ) as cp:
            for i in range(1, repos + 1):
                cp.write_row((i, i, None, f"{i:040x}", f"project-{i}", f"/repos/{i}", 100, 10_000, now))
        with cur.copy(
            "COPY environments (id, snapshot_id, status, python_version, install_steps, test_command, "
            "profile, tests_collected, tests_passed, tests_failed, tests_skipped, tests_error, tests_flaky, "
            "timings, created_at, updated_at) FROM STDIN"
        ) as cp:
            for i in range(1, repos + 1):
                cp.write_row(
                    (
                        i,
                        i,
                        "verified",
                        "3.11",
                        "[]",
                        '["pytest", "-q"]',
                        "{}",
                        10,
                        10,
                        0,
                        0,
                        0,
                        0,
                        "{}",
                        now,
                        now,
                    )
                )
        tasks_per_repo = 8
        with cur.copy(
            "COPY tasks (id, environment_id, kind, family, fingerprint, description, bug_patch, fix_patch, "
            "fail_to_pass, pass_to_pass, problem_statement, meta, created_at) FROM STDIN"
        ) as cp:
            for i in range(1, repos * tasks_per_repo + 1):
                env = (i - 1) // tasks_per_repo + 1
                problem = " ".join(rng.choice(THOUGHT_WORDS) for _ in range(60))
                cp.write_row(
                    (
                        i,
                        env,
                        "mutate_fix",
                        "operator_swap",
                        f"{i:064x}",
                        "",
                        "diff",
                        "diff",
                        "[]",
                        "[]",
                        problem,
                        "{}",
                        now,
                    )
                )
        step_rows: list[tuple[Any, ...]] = []
        episode_rows: list[tuple[Any, ...]] = []
        step_id = 0
        episode_id = 0
        while finished_steps < steps_target:
            episode_id += 1
            n = rng.randint(5, 35)
            finished = rng.random() > 0.02  # a few episodes still running: never exported
            task = rng.randrange(1, repos * tasks_per_repo + 1)
            env = (task - 1) // tasks_per_repo + 1
            status, exit_status = (
                ("finished", rng.choice(("submitted", "submitted", "step_limit", "format_error")))
                if finished
                else ("running", None)
            )
            policy = json.dumps({"kind": "openai", "model": "policy", "sampling": {}})
            episode_rows.append(
                (episode_id, env, task, status, exit_status, policy, 0, "{}", rng.random(), "[]", "{}", now)
            )
            for index in range(n):
                step_id += 1
                text = (corpus.action(), "bash", "{}", corpus.observation())
                step_rows.append(
                    (step_id, episode_id, index, *text, 0.0, False, False, 0, 0, 0, 0.0, 0.0, now, now)
                )
            if finished:
                finished_steps += n
                episodes += 1
            else:
                running += 1
        with cur.copy(
            "COPY episodes (id, environment_id, task_id, status, exit_status, policy, seed, limits, reward, "
            "test_results, totals, started_at) FROM STDIN"
        ) as cp:
            for row in episode_rows:
                cp.write_row(row)
        with cur.copy(
            "COPY steps (id, episode_id, index, raw_output, tool, args, observation, duration_ms, "
            "truncated, timed_out, output_bytes, prompt_tokens, completion_tokens, llm_ms, exec_ms, "
            "started_at, finished_at) FROM STDIN"
        ) as cp:
            for row in step_rows:
                cp.write_row(row)
        for table, top in (
            ("sources", repos),
            ("snapshots", repos),
            ("environments", repos),
            ("tasks", repos * tasks_per_repo),
            ("episodes", episode_id),
            ("steps", step_id),
        ):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})")
        conn.commit()
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    info = {
        "database": name,
        "repositories": repos,
        "finished_episodes": episodes,
        "running_episodes": running,
        "finished_steps": finished_steps,
        "all_steps": step_id,
        "database_bytes": int(size[0]) if size else 0,
        "seed_s": round(time.monotonic() - t0, 1),
    }
    return pg, info


def measure_copy(pg: str) -> tuple[int, int, float]:
    """Rows and bytes of COPY ... TO STDOUT, and its seconds (read until the last block)."""
    t0 = time.perf_counter()
    nbytes = 0
    with psycopg.connect(pg) as conn, conn.cursor() as cur, cur.copy(COPY_QUERY) as cp:
        for block in cp:
            nbytes += len(block)
    seconds = time.perf_counter() - t0
    with psycopg.connect(pg) as conn:
        row = conn.execute(
            "SELECT count(*) FROM steps s JOIN episodes e ON e.id = s.episode_id WHERE e.status = 'finished'"
        ).fetchone()
    return int(row[0]) if row else 0, nbytes, seconds


def measure_export(pg: str, out: Path, options: ExportOptions) -> tuple[Any, float]:
    settings = Settings(database_url=_sa_url(pg), data_dir=out.parent)
    t0 = time.perf_counter()
    manifest = run_export(settings, out, options)
    return manifest, time.perf_counter() - t0


def measure_packing(out: Path, seq_len: int, max_sequences: int) -> dict[str, Any]:
    from model.dataset import DatasetConfig, PackedDataset, list_shards  # torch: only for this part

    shards = list_shards(out, split="train", fmt="parquet")
    ds = PackedDataset(shards, DatasetConfig(seq_len=seq_len))
    real = slots = sequences = 0
    t0 = time.perf_counter()
    for sample in _take(iter(ds), max_sequences):
        real += int((sample["document_ids"] >= 0).sum())
        slots += int(sample["input_ids"].numel())
        sequences += 1
    seconds = time.perf_counter() - t0
    return {
        "seq_len": seq_len,
        "sequences": sequences,
        "real_tokens": real,
        "slots": slots,
        "packing_efficiency": round(real / slots, 4) if slots else 0.0,
        "tokens_per_s": round(real / seconds) if seconds else 0,
    }


def _take(it: Iterator[Any], n: int) -> Iterator[Any]:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    p.add_argument("--pg", default=os.environ.get("FORAGER_DATABASE_URL") or DEFAULT_PG)
    p.add_argument("--steps", type=int, default=200_000, help="finished steps to seed (at least)")
    p.add_argument("--rounds", type=int, default=5, help="alternating COPY/export rounds; medians count")
    p.add_argument("--seq-len", type=int, default=8192)
    p.add_argument("--pack-sequences", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-db", action="store_true", help="leave the seeded database in place")
    p.add_argument(
        "--workers", type=int, default=None, help="export worker processes (default: the export's own)"
    )
    p.add_argument(
        "--zstd-level",
        type=int,
        default=None,
        help="zstd level of the shards (default: the export's)",
    )
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=["parquet", "jsonl.zst"],
        help="shard format, repeatable (default: the export's, Parquet)",
    )
    args = p.parse_args()
    overrides: dict[str, Any] = {
        k: v
        for k, v in (("workers", args.workers), ("zstd_level", args.zstd_level), ("formats", args.formats))
        if v is not None
    }
    options = ExportOptions(**overrides)
    if not args.pg.startswith("postgresql"):
        console.print(f"[red]error:[/] --pg must be a PostgreSQL URL, got {args.pg.split('@')[-1]}")
        return 2

    load_start = os.getloadavg()
    console.print(f"seeding a store with {args.steps} finished steps ...")
    pg, seed_info = seed_store(args.pg, args.steps, args.seed)
    work = Path(tempfile.mkdtemp(prefix="forager-export-bench-"))
    try:
        copy_runs: list[dict[str, Any]] = []
        export_runs: list[dict[str, Any]] = []
        manifest = None
        # One unmeasured round of each first, as a long-running worker would have done: the
        # first export of a process imports and initializes pyarrow's compute kernels, the
        # ADBC driver and the hash tables (~0.6 s), the first COPY opens a cold connection.
        measure_copy(pg)
        measure_export(pg, work / "warm-up", options.model_copy(update={"max_episodes": 500}))
        shutil.rmtree(work / "warm-up")
        for r in range(args.rounds):
            rows, nbytes, copy_s = measure_copy(pg)
            copy_runs.append({"rows": rows, "bytes": nbytes, "seconds": round(copy_s, 3)})
            out = work / f"out-{r}"
            manifest, export_s = measure_export(pg, out, options)
            export_runs.append(
                {
                    "rows": manifest.counts.steps_read,
                    "rows_written": manifest.counts.steps_exported,
                    "documents": manifest.counts.exported,
                    "bytes": sum(s.bytes for s in manifest.shards),
                    "seconds": round(export_s, 3),
                }
            )
            console.print(f"round {r + 1}: COPY {copy_s:.2f} s, export {export_s:.2f} s")
            if manifest.counts.steps_read != rows:
                raise SystemExit(
                    f"the export read {manifest.counts.steps_read} steps, COPY {rows}: not the same rows"
                )
            if r < args.rounds - 1:
                shutil.rmtree(out)
        assert manifest is not None
        packing = measure_packing(work / f"out-{args.rounds - 1}", args.seq_len, args.pack_sequences)
        copy_rps = statistics.median(c["rows"] / c["seconds"] for c in copy_runs)
        export_rps = statistics.median(e["rows"] / e["seconds"] for e in export_runs)
        summary = {
            "export_rows_per_s": round(export_rps),
            "copy_rows_per_s": round(copy_rps),
            "ratio": round(export_rps / copy_rps, 3),
            "packing_efficiency": packing["packing_efficiency"],
            "targets": {"ratio": 0.5, "packing_efficiency": 0.97},
        }
        summary["meets_targets"] = summary["ratio"] >= 0.5 and summary["packing_efficiency"] >= 0.97
        result = {
            "summary": summary,
            "store": seed_info,
            "copy": copy_runs,
            "export": export_runs,
            "export_options": {"overrides": overrides, "workers": worker_count(options, "postgresql")},
            "export_manifest_counts": manifest.counts.model_dump(),
            "packing": packing,
            # Other work on the machine slows both sides, but not equally: COPY's cost is in the
            # server, the export's in this process too. Recorded so runs can be compared.
            "machine": {
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
                "loadavg_start": [round(x, 2) for x in load_start],
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            },
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        table = Table(title=f"export vs COPY ({seed_info['finished_steps']} finished steps)")
        for col in ("measure", "rows", "seconds (median)", "rows/s", "MB"):
            table.add_column(col, justify="right" if col != "measure" else "left")
        table.add_row(
            "COPY (SELECT …) TO STDOUT",
            str(copy_runs[0]["rows"]),
            f"{statistics.median(c['seconds'] for c in copy_runs):.2f}",
            f"{copy_rps:,.0f}",
            f"{copy_runs[0]['bytes'] / 1e6:.0f}",
        )
        table.add_row(
            f"forager export ({' + '.join(options.formats)})",
            str(export_runs[0]["rows"]),
            f"{statistics.median(e['seconds'] for e in export_runs):.2f}",
            f"{export_rps:,.0f}",
            f"{export_runs[0]['bytes'] / 1e6:.0f}",
        )
        console.print(table)
        console.print(
            f"ratio [bold]{summary['ratio']}[/] (target 0.5)   packing efficiency "
            f"[bold]{summary['packing_efficiency']}[/] at seq_len {args.seq_len} (target 0.97)"
        )
        console.print(f"wrote {args.out}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        get_engine(_sa_url(pg)).dispose()
        if not args.keep_db:
            with psycopg.connect(_psycopg_url(args.pg), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{seed_info["database"]}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
