"""A small, realistic store for the dashboard: repositories, builds with logs, baselines with
flaky tests, tasks with real diffs, episodes whose steps view, edit, run tests and submit,
and submissions at every stage. Used by the browser tests and scripts/screenshots.py.

Rows go in through the store's models in a few transactions (SQLite or PostgreSQL).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from forager.store.db import session_scope
from forager.store.models import (
    BuildAttemptRow,
    EnvironmentRow,
    EpisodeRow,
    SnapshotRow,
    SourceRow,
    StepRow,
    SubmissionRow,
    TaskRow,
    TestResultRow,
    utcnow,
)

EXITS = ["submitted"] * 6 + ["step_limit"] * 2 + ["format_error", "env_error", "time_limit", "policy_error"]

CALC_SOURCE = """def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mean(values):
    if not values:
        raise ValueError("mean of nothing")
    return sum(values) / len(values)
"""

TASK_SPECS = [
    # family, symbol, old line, new line, failing test
    ("operator_swap", "add", "    return a + b", "    return a - b", "tests/test_calc.py::test_add"),
    ("operator_swap", "sub", "    return a - b", "    return a + b", "tests/test_calc.py::test_sub"),
    ("remove_return", "mean", "    return sum(values) / len(values)", "    sum(values) / len(values)",
     "tests/test_calc.py::test_mean"),
    ("change_constant", "mean", "    if not values:", "    if len(values) < 1:", "tests/test_calc.py::test_mean_empty"),
    ("swap_variables", "sub", "    return a - b", "    return b - a", "tests/test_calc.py::test_sub_order"),
    ("revert_commit", "add", "    return a + b", "    return int(a) + int(b)", "tests/test_calc.py::test_add_floats"),
]  # fmt: skip

BUILD_LOG_FAIL = """Step 1/7 : FROM forager/base:bookworm
 ---> 3f1c2a9be0d1
Step 5/7 : RUN /venv/bin/pip install -e /repo
 ---> Running in 9a81d2c4f7e0
Obtaining file:///repo
  Installing build dependencies: started
  Installing build dependencies: finished with status 'error'
  error: subprocess-exited-with-error
  ModuleNotFoundError: No module named 'setuptools_scm'
The command '/bin/sh -c /venv/bin/pip install -e /repo' returned a non-zero code: 1
"""
BUILD_LOG_OK = """Step 1/8 : FROM forager/base:bookworm
 ---> 3f1c2a9be0d1
Step 4/8 : RUN /venv/bin/pip install setuptools_scm pytest
Successfully installed packaging-25.0 pytest-8.4.2 setuptools_scm-9.2.0
Step 6/8 : RUN /venv/bin/pip install -e /repo
Successfully installed {name}-0.1.0
Successfully built 5c0e7be21a44
Successfully tagged forager/env-{name}:5c0e7be2
"""
DOCKERFILE = """FROM forager/base:bookworm
COPY . /repo
RUN python3 -m venv /venv && /venv/bin/pip install setuptools_scm pytest
RUN /venv/bin/pip install -e /repo
WORKDIR /repo
"""


@dataclass
class DemoWorld:
    prefix: str
    env_ids: dict[str, int] = field(default_factory=dict)  # repo name -> environment id
    task_ids: list[int] = field(default_factory=list)
    episode_ids: list[int] = field(default_factory=list)
    long_episode_id: int = 0
    running_episode_id: int = 0  # in strutils, whose submission is still running
    submission_ids: dict[str, int] = field(default_factory=dict)  # status -> submission id


def _patch(path: str, old: str, new: str, line: int) -> str:
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -{line},3 +{line},3 @@\n def f():\n-{old}\n+{new}\n \n"
    )


def _pytest_output(failing: str | None, n: int = 12) -> tuple[str, int]:
    lines = ["============================= test session starts ==============================",
             f"collected {n} items", ""]  # fmt: skip
    dots = "." * (n - 1) + ("F" if failing else ".")
    lines.append(f"tests/test_calc.py {dots}                                    [100%]")
    if failing:
        lines += [
            "",
            "=================================== FAILURES ===================================",
            f"____ {failing.split('::')[-1]} ____",
            "    def test_add():",
            ">       assert add(2, 3) == 5",
            "E       assert -1 == 5",
            "E        +  where -1 = add(2, 3)",
            "",
            f"FAILED {failing} - assert -1 == 5",
            f"========================= 1 failed, {n - 1} passed in 0.08s =========================",
        ]
        return "\n".join(lines) + "\n", 1
    lines.append(f"============================== {n} passed in 0.07s ==============================")
    return "\n".join(lines) + "\n", 0


def _steps(
    rng: random.Random, spec: tuple[str, str, str, str, str], exit_status: str, n_extra: int
) -> list[dict[str, Any]]:
    """An episode's steps as column dicts: explore, run the failing test, edit, re-run, submit."""
    _family, symbol, old, new, failing = spec
    plan: list[dict[str, Any]] = []
    out, code = _pytest_output(failing)
    plan.append({"raw_output": f"Let me run the failing test first.\n<tool: bash>\npytest -q {failing}\n</tool>",
                 "tool": "bash", "args": {"command": f"pytest -q {failing}"}, "observation": out, "exit_code": code})  # fmt: skip
    view = "\n".join(
        f"{i + 1:>4}  {line}" for i, line in enumerate(CALC_SOURCE.replace(old, new).splitlines())
    )
    plan.append({"raw_output": f"The failure is in `{symbol}`. Let me look at it.\n<tool: view>\ncalc/core.py\n</tool>",
                 "tool": "view", "args": {"path": "calc/core.py"}, "observation": view + "\n", "exit_code": None})  # fmt: skip
    for i in range(n_extra):
        cmd = rng.choice(["git status --short", "grep -rn def calc/", "ls tests", "python -c 'import calc'"])
        full = "\n".join(f"calc/core.py:{j}: line {j} of the grep output" for j in range(400))
        long_output = i % 7 == 3
        plan.append({"raw_output": f"Checking something else ({i}).\n<tool: bash>\n{cmd}\n</tool>", "tool": "bash",
                     "args": {"command": cmd}, "exit_code": 0,
                     "observation": (full[:600] + "\n[... output truncated ...]\n") if long_output else f"ok {i}\n",
                     "output": full if long_output else None, "truncated": long_output,
                     "output_bytes": len(full) if long_output else 5})  # fmt: skip
    if exit_status == "format_error":
        plan.append({"raw_output": "I think the fix is to change the operator but", "tool": None, "args": {},
                     "observation": "", "error": "no tool call found in the reply", "exit_code": None})  # fmt: skip
        return plan
    plan.append({"raw_output": f"`{symbol}` has the wrong expression. Fix it.\n<tool: edit>\ncalc/core.py\n"
                               f"<<<<<<< SEARCH\n{new}\n=======\n{old}\n>>>>>>> REPLACE\n</tool>",
                 "tool": "edit", "args": {"path": "calc/core.py", "old_str": new, "new_str": old},
                 "observation": "The file calc/core.py was edited.\n", "exit_code": None})  # fmt: skip
    out, code = _pytest_output(None if exit_status == "submitted" else failing)
    plan.append({"raw_output": "Run the tests again.\n<tool: run_tests>\n</tool>", "tool": "run_tests", "args": {},
                 "observation": out, "exit_code": code})  # fmt: skip
    if exit_status == "submitted":
        plan.append({"raw_output": "All tests pass now.\n<tool: submit>\n</tool>", "tool": "submit", "args": {},
                     "observation": "", "exit_code": None})  # fmt: skip
    return plan


def seed_demo(url: str, bulk_episodes: int = 0, long_steps: int = 240, seed: int = 7) -> DemoWorld:
    """Seed the demo world; `bulk_episodes` more short episodes spread over the last day make
    the plots and time series fuller."""
    rng = random.Random(seed)
    w = DemoWorld(prefix=uuid.uuid4().hex[:6])
    now = utcnow()
    repos = [
        ("minicalc", "verified", 40, 37, 2, 1),
        ("strutils", "verified", 120, 118, 0, 3),
        ("tinyjson", "failed", 0, 0, 0, 0),
        ("pathfinder", "building", 0, 0, 0, 0),
    ]
    with session_scope(url) as s:
        for name, status, collected, passed, failed, flaky in repos:
            full = f"{name}-{w.prefix}"
            src = SourceRow(spec=f"https://git.example.org/demo/{full}.git", kind="git")
            s.add(src)
            s.flush()
            snap = SnapshotRow(source_id=src.id, commit_sha=f"{rng.getrandbits(160):040x}", name=full,
                               repo_path=f"/repos/{full}", file_count=42, total_bytes=180_000)  # fmt: skip
            s.add(snap)
            s.flush()
            env = EnvironmentRow(
                snapshot_id=snap.id, status=status,
                reason="build failed (layered): pip exited with 1" if status == "failed" else None,
                image_tag=f"forager/env-{full}:5c0e7be2" if status == "verified" else None,
                image_id="sha256:5c0e7be21a44" if status == "verified" else None,
                base_image="forager/base:bookworm", python_version="3.11", strategy="layered",
                install_steps=["python3 -m venv /venv", "/venv/bin/pip install -e /repo"],
                test_command=["/venv/bin/python", "-m", "pytest", "-q"], test_framework="pytest", profile={},
                tests_collected=collected, tests_passed=passed, tests_failed=failed,
                tests_skipped=collected - passed - failed, tests_flaky=flaky,
                image_size_bytes=412_000_000 + rng.randrange(90_000_000) if status == "verified" else None,
                added_size_bytes=38_000_000 if status == "verified" else None,
                timings={"build_s": round(rng.uniform(40, 160), 1), "test_s": round(rng.uniform(2, 30), 1)}
                if status != "building" else {},
                created_at=now - timedelta(hours=3), updated_at=now - timedelta(minutes=rng.randrange(5, 170)),
            )  # fmt: skip
            s.add(env)
            s.flush()
            w.env_ids[name] = env.id
            attempts = [("build_failed", BUILD_LOG_FAIL)]
            if status == "verified":
                attempts.append(("verified", BUILD_LOG_OK.format(name=full)))
            for i, (st, log) in enumerate(attempts if status != "building" else []):
                s.add(BuildAttemptRow(
                    environment_id=env.id, index=i + 1, strategy="layered" if i else "plain",
                    why="static dependencies first" if i else "the project's own install",
                    plan={"python": "3.11"}, status=st, reason="pip exited with 1" if st == "build_failed" else None,
                    dockerfile=DOCKERFILE, build_log=log, test_log=f"== {passed} passed ==\n" if st == "verified" else "",
                    build_s=round(rng.uniform(20, 90), 1), test_s=round(rng.uniform(1, 20), 1) if st == "verified" else None,
                    started_at=now - timedelta(hours=3), finished_at=now - timedelta(hours=3) + timedelta(minutes=2),
                ))  # fmt: skip
            for i in range(collected):
                outcome = "passed" if i < passed else "failed" if i < passed + failed else "skipped"
                s.add(TestResultRow(environment_id=env.id, test_id=f"tests/test_{name}.py::test_case_{i}",
                                    test_key=f"{w.prefix}-{name}-{i}", outcome=outcome,
                                    duration_s=round(rng.uniform(0.001, 0.3), 3), flaky=i < flaky))  # fmt: skip
        calc = w.env_ids["minicalc"]
        for k, spec in enumerate(TASK_SPECS):
            family, symbol, old, new, failing = spec
            t = TaskRow(
                environment_id=calc, kind="issue_fix" if family == "revert_commit" else "mutate_fix",
                family=family, fingerprint=f"{w.prefix}-{k}", target_file="calc/core.py", target_symbol=symbol,
                line_start=2 + 4 * (k % 3), line_end=3 + 4 * (k % 3), description=f"{family} in {symbol}",
                bug_patch=_patch("calc/core.py", old, new, 1 + 4 * (k % 3)),
                fix_patch=_patch("calc/core.py", new, old, 1 + 4 * (k % 3)),
                fail_to_pass=[failing], pass_to_pass=[f"tests/test_calc.py::test_case_{i}" for i in range(11)],
                problem_statement=f"`{symbol}` returns the wrong result: {failing} fails.", meta={},
            )  # fmt: skip
            s.add(t)
            s.flush()
            w.task_ids.append(t.id)
        subs = [
            ("done", "done", None, "minicalc", calc),
            ("running", "episodes", None, "strutils", w.env_ids["strutils"]),
            (
                "failed",
                "build",
                "BuildError: no install plan worked for tinyjson",
                "tinyjson",
                w.env_ids["tinyjson"],
            ),
            ("queued", "queued", None, "pathfinder", None),
        ]
        for status, stage, error, repo, env_id in subs:
            progress = _progress(status, now, rng)
            sub = SubmissionRow(
                source=f"https://git.example.org/demo/{repo}-{w.prefix}.git",
                ref=None, options={}, status=status, stage=stage, progress=progress, error=error,
                environment_id=env_id, created_at=now - timedelta(hours=2), updated_at=now - timedelta(minutes=3),
            )  # fmt: skip
            s.add(sub)
            s.flush()
            w.submission_ids[status] = sub.id
    # Bulk first, then a few full trajectories per task and a long one: the newest episodes
    # of the environment (the first page of its list) are the full ones.
    if bulk_episodes:
        _bulk(url, rng, calc, w.task_ids, bulk_episodes, now)
    specs = list(zip(w.task_ids, TASK_SPECS, strict=True))
    for i in range(18):
        task_id, spec = specs[i % len(specs)]
        exit_status = EXITS[i % len(EXITS)]
        w.episode_ids.append(
            _episode(url, rng, calc, task_id, spec, exit_status, i, now, n_extra=rng.randrange(0, 6))
        )
    w.long_episode_id = _episode(
        url, rng, calc, specs[0][0], specs[0][1], "step_limit", 99, now, n_extra=long_steps
    )
    strutils = w.env_ids["strutils"]
    w.running_episode_id = _episode(url, rng, strutils, None, specs[1][1], "running", 5, now, n_extra=1)
    return w


def _progress(status: str, now: datetime, rng: random.Random) -> dict[str, Any]:
    t = now - timedelta(minutes=50)
    out: dict[str, Any] = {}
    plan = {
        "done": ["done", "done", "done", "done"],
        "running": ["done", "done", "skipped", "running"],
        "failed": ["done", "failed", "pending", "pending"],
        "queued": ["pending"] * 4,
    }[status]
    for stage, st in zip(("ingest", "build", "tasks", "episodes"), plan, strict=True):
        if st == "pending":
            out[stage] = {"status": "pending"}
            continue
        took = timedelta(seconds=rng.uniform(4, 600))
        entry: dict[str, Any] = {"status": st, "started_at": t.isoformat()}
        if st != "running":
            entry["finished_at"] = (t + took).isoformat()
        if stage == "episodes":
            entry.update(total=24, finished=24 if st == "done" else 9)
        out[stage] = entry
        t += took
    return out


def _episode(
    url: str,
    rng: random.Random,
    env_id: int,
    task_id: int | None,
    spec: tuple[str, str, str, str, str],
    exit_status: str,
    seed: int,
    now: datetime,
    n_extra: int,
) -> int:
    """A finished episode, or with exit_status "running" one still going (its first steps)."""
    running = exit_status == "running"
    steps = _steps(rng, spec, exit_status, n_extra)[: 3 if running else None]
    finished = now - timedelta(minutes=rng.uniform(1, 110))
    started = finished - timedelta(seconds=20 * len(steps))
    _, _, old, new, failing = spec
    submitted = exit_status == "submitted"
    with session_scope(url) as s:
        ep = EpisodeRow(
            environment_id=env_id, task_id=task_id, status="running" if running else "finished",
            exit_status=None if running else exit_status,
            exit_detail=None if submitted or running else f"{exit_status.replace('_', ' ')} after {len(steps)} steps",
            policy={"kind": "openai", "model": "cwm-sft", "sampling": {"temperature": 1.0}}
            if seed % 2 else {"kind": "explorer", "model": None, "sampling": {}},
            seed=seed, limits={"max_steps": 300, "max_wall_s": 1800.0},
            final_patch=_patch("calc/core.py", new, old, 1) if submitted else None,
            reward=None if running else 1.0 if submitted else 0.0,
            test_results=[] if running else [
                {"test_id": failing, "outcome": "passed" if submitted else "failed", "expected": "passed"}],
            totals={} if running else {
                "steps": len(steps), "prompt_tokens": 1800 * len(steps), "completion_tokens": 90 * len(steps),
                "llm_ms": 900.0 * len(steps), "exec_ms": 400.0 * len(steps)},
            started_at=started, finished_at=None if running else finished,
        )  # fmt: skip
        s.add(ep)
        s.flush()
        rows = []
        for i, st in enumerate(steps):
            at = started + timedelta(seconds=20 * i)
            rows.append({
                "episode_id": ep.id, "index": i, "raw_output": st["raw_output"], "tool": st["tool"],
                "args": st["args"], "error": st.get("error"), "observation": st["observation"],
                "output": st.get("output"), "exit_code": st["exit_code"],
                "duration_ms": round(rng.uniform(30, 2500), 1), "truncated": st.get("truncated", False),
                "timed_out": False, "output_bytes": st.get("output_bytes", len(st["observation"])),
                "prompt_tokens": 1800 + 40 * i, "completion_tokens": rng.randrange(30, 200),
                "llm_ms": round(rng.lognormvariate(6.5, 0.5), 1), "exec_ms": round(rng.lognormvariate(5.5, 1.0), 1),
                "started_at": at, "finished_at": at + timedelta(seconds=3),
            })  # fmt: skip
        s.execute(insert(StepRow), rows)
        return ep.id


def _bulk(url: str, rng: random.Random, env_id: int, task_ids: list[int], n: int, now: datetime) -> None:
    """Short episodes (one step each) over the last day: fuller plots and time series."""
    with session_scope(url) as s:
        rows = []
        for i in range(n):
            finished = now - timedelta(minutes=rng.triangular(0, 24 * 60, 30))
            exit_status = rng.choice(EXITS)
            length = max(1, int(rng.lognormvariate(2.3, 0.6)))
            rows.append({
                "environment_id": env_id, "task_id": rng.choice(task_ids), "status": "finished",
                "exit_status": exit_status, "policy": {"kind": rng.choice(["explorer", "openai"]), "model": None,
                                                        "sampling": {}},
                "seed": 1000 + i, "limits": {}, "reward": 1.0 if exit_status == "submitted" and rng.random() < 0.7
                else 0.0, "test_results": [], "totals": {"steps": length}, "started_at": finished - timedelta(
                    minutes=3), "finished_at": finished,
            })  # fmt: skip
        ids = list(s.scalars(insert(EpisodeRow).returning(EpisodeRow.id), rows))
        steps = []
        for eid in ids:
            at = now - timedelta(hours=1)
            steps.append({
                "episode_id": eid, "index": 0, "raw_output": "<tool: bash>\nls\n</tool>", "tool": "bash",
                "args": {"command": "ls"}, "observation": "calc\ntests\n", "exit_code": 0,
                "duration_ms": 12.0, "llm_ms": round(rng.lognormvariate(6.5, 0.6), 1),
                "exec_ms": round(rng.lognormvariate(4.0, 1.4), 1), "started_at": at, "finished_at": at,
            })  # fmt: skip
        s.execute(insert(StepRow), steps)
