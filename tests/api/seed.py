"""A small world of rows for the read endpoints, written through the real store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from forager.agent.models import (
    Action,
    Limits,
    Observation,
    PolicyInfo,
    StepRecord,
    TestResult,
    Totals,
)
from forager.store.db import session_scope
from forager.store.episodes import EpisodeStore
from forager.store.models import (
    BuildAttemptRow,
    EnvironmentRow,
    SnapshotRow,
    SourceRow,
    SubmissionRow,
    TaskRow,
    TestResultRow,
    utcnow,
)


@dataclass
class World:
    name: str
    env_ids: list[int] = field(default_factory=list)  # verified, failed, building
    task_ids: list[int] = field(default_factory=list)
    episode_ids: list[int] = field(default_factory=list)  # finished ones, in order
    running_episode_id: int = 0
    submission_id: int = 0


def step(i: int, tool: str = "bash") -> StepRecord:
    now = utcnow()
    return StepRecord(
        index=i,
        raw_output=f"I will run step {i}\n```bash\necho {i}\n```",
        action=Action(tool=tool, args={"command": f"echo {i}"}),
        observation=Observation(text=f"{i}\n", output=f"{i}\n", exit_code=0, duration_ms=3.0, output_bytes=2),
        prompt_tokens=100 + i,
        completion_tokens=10 + i,
        llm_ms=50.0,
        exec_ms=3.0,
        started_at=now,
        finished_at=now,
    )


def seed_world(url: str) -> World:
    w = World(name=f"seedlib-{uuid.uuid4().hex[:8]}")
    with session_scope(url) as s:
        src = SourceRow(spec=f"https://example.org/{w.name}.git", kind="git")
        s.add(src)
        s.flush()
        snap = SnapshotRow(
            source_id=src.id,
            commit_sha="a" * 40,
            name=w.name,
            repo_path="/nowhere",
            file_count=10,
            total_bytes=1000,
        )
        s.add(snap)
        s.flush()
        common = {
            "snapshot_id": snap.id,
            "profile": {},
            "install_steps": [],
            "test_command": [],
            "timings": {},
        }
        envs = [
            EnvironmentRow(
                status="verified",
                python_version="3.11",
                image_tag=f"forager/env-{w.name}:abc",
                tests_collected=5,
                tests_passed=4,
                tests_failed=1,
                **common,
            ),
            EnvironmentRow(status="failed", reason="build failed (layered): pip exited 1", **common),
            EnvironmentRow(status="building", **common),
        ]
        s.add_all(envs)
        s.flush()
        w.env_ids = [e.id for e in envs]
        env = envs[0]
        for i, status in [(1, "build_failed"), (2, "verified")]:
            s.add(
                BuildAttemptRow(
                    environment_id=env.id,
                    index=i,
                    strategy="layered",
                    status=status,
                    dockerfile=f"FROM base\n# attempt {i}\n",
                    build_log=f"build log of attempt {i}\n" * 50,
                    test_log=f"test log of attempt {i}\n",
                    plan={"python": "3.11"},
                    finished_at=utcnow(),
                )
            )
        for i, outcome in enumerate(["passed", "passed", "failed", "passed", "passed"]):
            s.add(
                TestResultRow(
                    environment_id=env.id,
                    test_id=f"tests/test_mod.py::test_{i}",
                    test_key=f"{w.name}-{i}",
                    outcome=outcome,
                    duration_s=0.01 * i,
                )
            )
        for i, (kind, family) in enumerate(
            [
                ("mutate_fix", "operator_swap"),
                ("mutate_fix", "operator_swap"),
                ("mutate_fix", "operator_swap"),
                ("mutate_fix", "remove_return"),
                ("mutate_fix", "remove_return"),
                ("issue_fix", "revert_commit"),
            ]
        ):
            t = TaskRow(
                environment_id=env.id,
                kind=kind,
                family=family,
                fingerprint=f"{w.name}-{i}",
                target_file="pkg/mod.py",
                target_symbol=f"f{i}",
                line_start=i,
                line_end=i + 2,
                description=f"task {i}",
                bug_patch=f"--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ bug {i}",
                fix_patch=f"--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ fix {i}",
                fail_to_pass=[f"tests/test_mod.py::test_{i}"],
                pass_to_pass=["tests/test_mod.py::test_0"],
                problem_statement=f"f{i} is wrong",
                meta={},
            )
            s.add(t)
            s.flush()
            w.task_ids.append(t.id)
        now = utcnow()
        progress = {
            "ingest": {
                "status": "done",
                "started_at": (now - timedelta(seconds=40)).isoformat(),
                "finished_at": (now - timedelta(seconds=37)).isoformat(),
            },
            "build": {
                "status": "done",
                "started_at": (now - timedelta(seconds=37)).isoformat(),
                "finished_at": (now - timedelta(seconds=7)).isoformat(),
            },
            "tasks": {
                "status": "skipped",
                "started_at": (now - timedelta(seconds=7)).isoformat(),
                "finished_at": (now - timedelta(seconds=7)).isoformat(),
            },
            "episodes": {"status": "running", "started_at": (now - timedelta(seconds=7)).isoformat()},
        }
        sub = SubmissionRow(
            source=src.spec,
            ref=None,
            options={},
            status="running",
            stage="episodes",
            progress=progress,
            environment_id=env.id,
        )
        s.add(sub)
        s.flush()
        w.submission_id = sub.id

    episodes = EpisodeStore(url)
    plan = [
        ("explorer", None, "submitted", 3),
        ("explorer", 0, "step_limit", 2),
        ("openai", 0, "submitted", 4),
        ("openai", 1, "format_error", 1),
        ("explorer", 3, "env_error", 0),
    ]
    for seed, (kind, task, exit_status, n_steps) in enumerate(plan):
        policy = PolicyInfo(kind=kind, model="policy" if kind == "openai" else None)
        eid = episodes.start(
            w.env_ids[0], w.task_ids[task] if task is not None else None, policy, seed, Limits(max_steps=10)
        )
        for i in range(n_steps):
            episodes.add_step(eid, step(i), stored_output_cap=1 << 20)
        episodes.finish(
            eid,
            exit_status,
            None,
            "diff --git a/x b/x\n" if exit_status == "submitted" else None,
            1.0 if exit_status == "submitted" else 0.0,
            [TestResult(test_id="tests/test_mod.py::test_0", outcome="passed", expected="passed")],
            Totals(steps=n_steps, prompt_tokens=100 * n_steps),
        )
        w.episode_ids.append(eid)
    w.running_episode_id = episodes.start(
        w.env_ids[0], None, PolicyInfo(kind="explorer"), 99, Limits(max_steps=10)
    )
    episodes.add_step(w.running_episode_id, step(0), stored_output_cap=1 << 20)
    return w
