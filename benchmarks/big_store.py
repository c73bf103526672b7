"""A large, realistic store seeded with COPY, for the benchmarks that read one (api_load, ui_load).

`seed_store` creates a throwaway database next to the given one and fills it: sources,
snapshots, environments (verified, failed, building) with build attempts and test baselines,
tasks of every family, episodes with their steps, and finished submissions with stage times.
Optional long episodes (thousands of steps each) are added last. The same seed and volume give
the same rows.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from rich.console import Console

from forager.store.db import migrate

console = Console(width=160)
FAMILIES = (
    "operator_swap",
    "comparison_swap",
    "remove_return",
    "swap_variables",
    "remove_body",
    "change_constant",
)
EXIT_STATUSES = (
    ["submitted"] * 50 + ["step_limit"] * 25 + ["time_limit"] * 5 + ["format_error"] * 10
    + ["env_error"] * 5 + ["policy_error"] * 5
)  # fmt: skip
FAIL_REASONS = (
    "build failed (layered): pip exited with 1",
    "no tests were collected; last output: ERROR collecting",
    "3 of 40 tests passed (need 20); 37 failed, 0 errors, 0 skipped, 0 flaky",
    "environment error: the Docker engine does not answer",
)
DOCKERFILE = "FROM forager/base:bookworm\nCOPY . /src\nRUN /venv/bin/pip install -e /src\n"
PATCH = "--- a/src/m{k}.py\n+++ b/src/m{k}.py\n@@ -10,7 +10,7 @@\n-    return a + b\n+    return a - b\n"
F2P = '["tests/test_mod0.py::test_case_0"]'
P2P = '["tests/test_mod1.py::test_case_1", "tests/test_mod2.py::test_case_2"]'
EPISODE_TESTS = '[{"test_id": "tests/test_mod0.py::test_case_0", "outcome": "passed", "expected": "passed"}]'


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class Volume:
    environments: int
    tasks_per_env: int
    episodes: int
    steps_per_episode: int
    tests_per_env: int = 20
    submissions: int = 2000
    long_episodes: int = 0  # extra finished episodes of `long_steps` steps each, ids after the others
    long_steps: int = 0


def seed_store(
    admin_url: str,
    vol: Volume,
    seed: int,
    prefix: str = "forager_apiload",
    base: datetime = datetime(2026, 1, 1),
) -> tuple[str, str, dict[str, Any]]:
    """A new database with the schema and `vol` rows; returns (name, psycopg url, info).

    Timestamps start at `base`: episode e starts at base + 7 e seconds and runs 90 seconds."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_psycopg_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg = _psycopg_url(admin_url).rsplit("/", 1)[0] + "/" + name
    migrate(_sa_url(pg))
    rng = random.Random(seed)
    t0 = time.monotonic()
    n_env = vol.environments
    with psycopg.connect(pg) as conn, conn.cursor() as cur:
        with cur.copy("COPY sources (id, spec, kind, created_at) FROM STDIN") as cp:
            for i in range(1, n_env + 1):
                cp.write_row((i, f"https://github.com/org{i % 97}/project-{i}.git", "git", base))
        with cur.copy(
            "COPY snapshots (id, source_id, ref, commit_sha, name, repo_path, file_count, total_bytes, "
            "created_at) FROM STDIN"
        ) as cp:
            for i in range(1, n_env + 1):
                # Two snapshots per project name: the name filter returns a couple of rows.
                cp.write_row((i, i, None, f"{i:040x}", f"project-{i // 2}", f"/repos/{i}", 120, 90_000, base))
        env_status: dict[int, str] = {}
        with cur.copy(
            "COPY environments (id, snapshot_id, status, reason, image_tag, python_version, strategy, "
            "install_steps, test_command, profile, tests_collected, tests_passed, tests_failed, "
            "tests_skipped, tests_error, tests_flaky, timings, image_size_bytes, created_at, updated_at) "
            "FROM STDIN"
        ) as cp:
            for i in range(1, n_env + 1):
                roll = rng.random()
                status = "verified" if roll < 0.7 else "failed" if roll < 0.95 else "building"
                env_status[i] = status
                reason = rng.choice(FAIL_REASONS) if status == "failed" else None
                collected = rng.randint(5, 400)
                passed = collected - rng.randint(0, 5) if status == "verified" else rng.randint(0, 4)
                cp.write_row(
                    (
                        i,
                        i,
                        status,
                        reason,
                        f"forager/env-project-{i}:{i:012x}" if status == "verified" else None,
                        "3.11",
                        "layered",
                        '["python -m venv /venv", "pip install -e ."]',
                        '["python", "-m", "pytest", "-q"]',
                        json.dumps({"python": ">=3.9", "framework": "pytest", "packages": ["src"]}),
                        collected,
                        max(0, passed),
                        max(0, collected - passed),
                        0,
                        0,
                        0,
                        json.dumps({"build_s": rng.uniform(20, 300), "test_s": rng.uniform(1, 200)}),
                        300_000_000 + 7919 * i if status == "verified" else None,
                        base + timedelta(minutes=i),
                        base + timedelta(minutes=i, seconds=300),
                    )
                )
        with cur.copy(
            "COPY build_attempts (environment_id, index, strategy, why, plan, status, reason, dockerfile, "
            "build_log, test_log, build_s, test_s, started_at, finished_at) FROM STDIN"
        ) as cp:
            log = "Step 3/9 : RUN pip install -e .\n Collecting pytest\n Installing ...\n" * 30
            for i in range(1, n_env + 1):
                for a in range(1, rng.randint(1, 3) + 1):
                    cp.write_row(
                        (i, a, "layered", "static deps, then the project", '{"python": "3.11"}', "verified",
                         None, DOCKERFILE, log, "== 40 passed ==\n", 60.0, 12.0, base, base)
                    )  # fmt: skip
        with cur.copy(
            "COPY test_results (environment_id, test_id, test_key, outcome, duration_s, flaky) FROM STDIN"
        ) as cp:
            for i in range(1, n_env + 1):
                for n in range(vol.tests_per_env):
                    test_id = f"tests/test_mod{n % 5}.py::test_case_{n}"
                    cp.write_row((i, test_id, f"{i}-{n}", "passed" if n % 9 else "failed", 0.01 * n, False))
        verified = [i for i, st in env_status.items() if st == "verified"]
        task_env: list[int] = []
        with cur.copy(
            "COPY tasks (id, environment_id, kind, family, fingerprint, target_file, target_symbol, "
            "line_start, line_end, description, bug_patch, fix_patch, fail_to_pass, pass_to_pass, "
            "problem_statement, meta, created_at) FROM STDIN"
        ) as cp:
            tid = 0
            for env in verified:
                for k in range(vol.tasks_per_env):
                    tid += 1
                    task_env.append(env)
                    fam = rng.choice(FAMILIES)
                    patch = PATCH.format(k=k)
                    cp.write_row(
                        (tid, env, "mutate_fix" if k % 5 else "issue_fix", fam, f"{tid:064x}", f"src/m{k}.py",
                         f"func_{k}", 10, 16, f"{fam} in func_{k}", patch, patch, F2P, P2P,
                         f"func_{k} returns the wrong value", "{}", base)
                    )  # fmt: skip
        n_tasks = len(task_env)
        with cur.copy(
            "COPY episodes (id, environment_id, task_id, status, exit_status, policy, seed, limits, "
            "final_patch, reward, test_results, totals, started_at, finished_at) FROM STDIN"
        ) as cp:
            for e in range(1, vol.episodes + 1):
                task = rng.randrange(n_tasks) + 1 if rng.random() < 0.9 else None
                env = task_env[task - 1] if task else rng.choice(verified)
                finished = rng.random() > 0.01
                exit_status = rng.choice(EXIT_STATUSES) if finished else None
                kind = "explorer" if rng.random() < 0.7 else "openai"
                policy: dict[str, Any] = {
                    "kind": kind,
                    "model": "policy" if kind == "openai" else None,
                    "sampling": {},
                }
                started = base + timedelta(seconds=e * 7)
                cp.write_row(
                    (e, env, task, "finished" if finished else "running", exit_status, json.dumps(policy), e,
                     '{"max_steps": 30, "max_wall_s": 900.0}',
                     "diff --git a/src/m.py b/src/m.py\n" if exit_status == "submitted" else None,
                     1.0 if exit_status == "submitted" and rng.random() < 0.6 else 0.0,
                     EPISODE_TESTS, json.dumps({"steps": vol.steps_per_episode, "prompt_tokens": 12000}),
                     started, started + timedelta(seconds=90) if finished else None)
                )  # fmt: skip
        with cur.copy(
            "COPY steps (episode_id, index, raw_output, tool, args, observation, exit_code, duration_ms, "
            "truncated, timed_out, output_bytes, prompt_tokens, completion_tokens, llm_ms, exec_ms, "
            "started_at, finished_at) FROM STDIN"
        ) as cp:
            for e in range(1, vol.episodes + 1):
                at = base + timedelta(seconds=e * 7)
                for k in range(vol.steps_per_episode):
                    cmd = f"pytest -x tests/test_mod{k % 5}.py"
                    shown = f"....F\nFAILED tests/test_mod{k % 5}.py::test_case_{k}\n" * 3
                    cp.write_row(
                        (e, k, f"Let me run the tests again.\n```bash\n{cmd}\n```", "bash",
                         json.dumps({"command": cmd}), shown, 1, 850.0, False, False, 120, 1500, 90, 400.0,
                         850.0, at, at)
                    )  # fmt: skip
        with cur.copy(
            "COPY submissions (source, options, status, stage, progress, cancel_requested, environment_id, "
            "created_at, updated_at) FROM STDIN"
        ) as cp:
            for i in range(vol.submissions):
                start = base + timedelta(minutes=i)
                marks, progress = start, {}
                for stage, lo, hi in (
                    ("ingest", 1, 20),
                    ("build", 30, 900),
                    ("tasks", 10, 600),
                    ("episodes", 60, 3600),
                ):
                    end = marks + timedelta(seconds=rng.uniform(lo, hi))
                    progress[stage] = {
                        "status": "done",
                        "started_at": marks.isoformat(),
                        "finished_at": end.isoformat(),
                    }
                    marks = end
                cp.write_row(
                    (f"pypi:project-{i}==1.0", "{}", "done", "done", json.dumps(progress), False,
                     rng.choice(verified), start, marks)
                )  # fmt: skip
        if vol.long_episodes:
            _long_episodes(cur, vol, rng.choice(verified), base)
        for table, top in (
            ("sources", n_env),
            ("snapshots", n_env),
            ("environments", n_env),
            ("tasks", n_tasks),
            ("episodes", vol.episodes + vol.long_episodes),
        ):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})")
        conn.commit()
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        try:
            # Write the seed's dirty pages now, not as a checkpoint in the middle of the load.
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            console.print("[yellow]no CHECKPOINT privilege: a checkpoint may overlap the load[/]")
        counts = {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in (
                "environments",
                "build_attempts",
                "test_results",
                "tasks",
                "episodes",
                "steps",
                "submissions",
            )
        }
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    info = {
        "database": name,
        "rows": counts,
        "database_mb": round(int(size[0]) / 2**20, 1) if size else None,
        "seed_s": round(time.monotonic() - t0, 1),
        "verified_environments": len(verified),
    }
    return name, pg, info


def _long_episodes(cur: psycopg.Cursor[Any], vol: Volume, env: int, base: datetime) -> None:
    """Episodes of thousands of steps (the trajectory viewer pages through them); every 50th
    step keeps a long full output beside what the policy was shown."""
    first = vol.episodes + 1
    policy = '{"kind": "explorer", "model": null, "sampling": {}}'
    with cur.copy(
        "COPY episodes (id, environment_id, task_id, status, exit_status, policy, seed, limits, reward, "
        "test_results, totals, started_at, finished_at) FROM STDIN"
    ) as cp:
        for e in range(first, first + vol.long_episodes):
            limits, totals = json.dumps({"max_steps": vol.long_steps}), json.dumps({"steps": vol.long_steps})
            end = base + timedelta(hours=2)
            cp.write_row(
                (e, env, None, "finished", "step_limit", policy, e, limits, 0.0, "[]", totals, base, end)
            )
    full = "\n".join(f"src/m{k % 9}.py:{k}: match {k}" for k in range(2000))
    shown = full[:800] + "\n[... truncated ...]\n"
    with cur.copy(
        "COPY steps (episode_id, index, raw_output, tool, args, observation, output, exit_code, duration_ms, "
        "truncated, timed_out, output_bytes, prompt_tokens, completion_tokens, llm_ms, exec_ms, "
        "started_at, finished_at) FROM STDIN"
    ) as cp:
        for e in range(first, first + vol.long_episodes):
            for k in range(vol.long_steps):
                cmd = f"grep -rn 'def f{k % 97}' src/"
                raw = f"Step {k}: search again.\n```bash\n{cmd}\n```"
                big = k % 50 == 7
                obs = shown if big else f"src/m{k % 9}.py:{k}: def f{k % 97}\n"
                size = len(full) if big else len(obs)
                cp.write_row(
                    (e, k, raw, "bash", json.dumps({"command": cmd}), obs, full if big else None, 0, 120.0,
                     big, False, size, 900 + k, 40, 350.0, 120.0, base, base)
                )  # fmt: skip
