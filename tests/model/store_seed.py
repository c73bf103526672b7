"""Seeding the store with repositories, tasks, episodes and steps, directly with SQLAlchemy."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from forager.store.db import session_scope
from forager.store.models import EnvironmentRow, EpisodeRow, SnapshotRow, SourceRow, StepRow, TaskRow

WORDS = [
    f"{a}{b}" for a in ("get", "set", "load", "parse", "run", "check", "make", "read") for b in range(400)
]


@dataclass
class RepoIds:
    spec: str
    environment_id: int
    task_id: int
    name: str


def add_repo(s: Session, spec: str, name: str | None = None) -> RepoIds:
    name = name or spec.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    source = SourceRow(spec=spec, kind="pypi" if spec.startswith("pypi:") else "git")
    s.add(source)
    s.flush()
    snap = SnapshotRow(
        source_id=source.id, commit_sha="0" * 40, name=name, repo_path="/tmp/x", file_count=1, total_bytes=1
    )
    s.add(snap)
    s.flush()
    env = EnvironmentRow(
        snapshot_id=snap.id, status="verified", python_version="3.11", test_command=["pytest", "-q"]
    )
    s.add(env)
    s.flush()
    task = TaskRow(
        environment_id=env.id,
        kind="mutate_fix",
        family="operator_swap",
        fingerprint=f"fp-{env.id}",
        bug_patch="--- a\n+++ b\n",
        fix_patch="--- b\n+++ a\n",
        problem_statement=f"The function `total` in {name} returns the wrong sum.",
    )
    s.add(task)
    s.flush()
    return RepoIds(spec, env.id, task.id, name)


def random_actions(rng: random.Random, n: int, words: int = 30) -> list[str]:
    return [
        " ".join(rng.choice(WORDS) for _ in range(words))
        + f"\n<tool: bash>\npytest -k {rng.choice(WORDS)}\n</tool>"
        for _ in range(n)
    ]


def add_episode(
    s: Session,
    repo: RepoIds,
    actions: list[str],
    observations: list[str] | None = None,
    status: str = "finished",
    exit_status: str | None = "submitted",
    policy_kind: str = "openai",
    reward: float | None = 1.0,
    task: bool = True,
) -> int:
    ep = EpisodeRow(
        environment_id=repo.environment_id,
        task_id=repo.task_id if task else None,
        status=status,
        exit_status=exit_status if status == "finished" else None,
        policy={"kind": policy_kind, "model": "m" if policy_kind == "openai" else None, "sampling": {}},
        reward=reward if status == "finished" else None,
        test_results=[],
        totals={},
    )
    s.add(ep)
    s.flush()
    if observations is None:
        observations = [f"$ step {i} of episode {ep.id}\n{i} passed, 0 failed\n" for i in range(len(actions))]
    for i, (a, o) in enumerate(zip(actions, observations, strict=True)):
        s.add(StepRow(episode_id=ep.id, index=i, raw_output=a, observation=o, tool="bash", args={}))
    s.flush()
    return ep.id


def finish(s: Session, episode_id: int, exit_status: str = "submitted", reward: float = 1.0) -> None:
    ep = s.get_one(EpisodeRow, episode_id)
    ep.status, ep.exit_status, ep.reward = "finished", exit_status, reward


@dataclass
class Scenario:
    """What was seeded, and what an export with the default options must drop and why."""

    repo_key: dict[str, str] = field(default_factory=dict)  # spec -> repository identity
    decontaminated: set[int] = field(default_factory=set)
    running: set[int] = field(default_factory=set)
    near_copies: set[int] = field(default_factory=set)  # of an earlier episode of the same repo
    kept_similar: set[int] = field(default_factory=set)  # related, but below the threshold
    no_steps: set[int] = field(default_factory=set)
    all_ids: list[int] = field(default_factory=list)


def seed_scenario(url: str, seed: int = 0, episodes_per_repo: int = 6) -> Scenario:
    """Repositories of every spec form, SWE-bench ones among them, and episodes that exercise
    every filter: running, empty, failed, explorer-driven, near-copies, cross-repo copies."""
    rng = random.Random(seed)
    sc = Scenario()
    specs = {
        "https://github.com/acme/widgets": "github.com/acme/widgets",
        "git@github.com:acme/gadgets.git": "github.com/acme/gadgets",
        "pypi:toolz==0.12.0": "pypi:toolz",
        "pypi:toolz==1.0.0": "pypi:toolz",  # another version: the same repository
        "https://gitlab.com/team/parser": "gitlab.com/team/parser",
        "https://github.com/django/django": "github.com/django/django",  # SWE-bench
        "https://github.com/someone/sympy": "github.com/someone/sympy",  # a fork of one
    }
    swe = {"https://github.com/django/django", "https://github.com/someone/sympy"}
    sc.repo_key = dict(specs)
    with session_scope(url) as s:
        repos = {spec: add_repo(s, spec) for spec in specs}
        originals: dict[str, list[str]] = {}
        for spec, repo in repos.items():
            for k in range(episodes_per_repo):
                actions = random_actions(rng, rng.randint(1, 7))
                exit_status = rng.choice(["submitted", "submitted", "step_limit", "format_error"])
                eid = add_episode(
                    s,
                    repo,
                    actions,
                    exit_status=exit_status,
                    policy_kind="explorer" if k % 3 == 2 else "openai",
                    reward=1.0 if exit_status == "submitted" and k % 2 == 0 else 0.0,
                    task=k != 1,
                )
                sc.all_ids.append(eid)
                if spec in swe:
                    sc.decontaminated.add(eid)
                if k == 0:
                    originals[spec] = actions
        # A near-copy: one action of ten changed (Jaccard ~0.8) -> dropped.
        base = random_actions(rng, 10)
        first = add_episode(s, repos["https://github.com/acme/widgets"], base)
        copy = add_episode(s, repos["https://github.com/acme/widgets"], [*base[:9], *random_actions(rng, 1)])
        sc.all_ids += [first, copy]
        sc.near_copies.add(copy)
        # The same actions in another repository: dedup is per repository -> kept.
        other = add_episode(s, repos["https://gitlab.com/team/parser"], base)
        # Related but below the threshold (4 of 10 actions shared, Jaccard ~0.25) -> kept.
        similar = add_episode(
            s, repos["https://github.com/acme/widgets"], [*base[:4], *random_actions(rng, 6)]
        )
        sc.kept_similar.add(similar)
        # Another version of a package is the same repository: a copy there is dropped.
        cross = add_episode(s, repos["pypi:toolz==1.0.0"], list(originals["pypi:toolz==0.12.0"]))
        sc.near_copies.add(cross)
        sc.all_ids += [other, similar, cross]
        # Still running (never exported), and finished without a step (dropped by min_steps).
        running = add_episode(
            s, repos["git@github.com:acme/gadgets.git"], random_actions(rng, 3), status="running"
        )
        sc.running.add(running)
        empty = add_episode(
            s, repos["git@github.com:acme/gadgets.git"], [], exit_status="env_error", reward=None
        )
        sc.no_steps.add(empty)
        sc.all_ids += [running, empty]
    return sc
