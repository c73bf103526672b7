"""Re-validating stored tasks in fresh sandboxes: the bug still makes exactly its
fail-to-pass tests fail (pass-to-pass still pass), and bug + gold fix makes all of them pass."""

from __future__ import annotations

from dataclasses import dataclass

from forager.agent.tools import suite_of
from forager.config import Settings
from forager.store.environments import EnvironmentStore
from forager.store.models import TaskRow
from forager.tasks.evaluate import task_test_order
from forager.tasks.prove import Candidate, prove


@dataclass
class Recheck:
    task_id: int
    valid: bool
    why: str = ""


def recheck_tasks(tasks: list[TaskRow], settings: Settings) -> list[Recheck]:
    """All tasks must belong to one environment."""
    if not tasks:
        return []
    env_ids = {t.environment_id for t in tasks}
    if len(env_ids) != 1:
        raise ValueError("recheck tasks of one environment at a time")
    env = EnvironmentStore(settings.db_url).get(env_ids.pop())
    if not env.image_tag:
        return [Recheck(t.id, False, "the environment has no image") for t in tasks]
    tests = suite_of(env)
    cands: list[Candidate] = []
    for t in tasks:
        wanted = task_test_order(list(t.fail_to_pass), list(t.pass_to_pass))
        cands.append(Candidate(f"{t.id}:bug", t.bug_patch, wanted))
        cands.append(Candidate(f"{t.id}:gold", t.bug_patch, wanted, then_patch=t.fix_patch))
    passing = {x for t in tasks for x in (*t.fail_to_pass, *t.pass_to_pass)}
    # No control run: the gold candidate is the control, and it must pass every test.
    proving = prove(
        cands, env.image_tag, tests, passing, settings, 600.0, label="recheck", control=False, confirm=False
    )
    proofs = {p.key: p for p in proving}
    out = []
    for t in tasks:
        bug, gold = proofs[f"{t.id}:bug"], proofs[f"{t.id}:gold"]
        problems = []
        if sorted(bug.fail_to_pass) != sorted(t.fail_to_pass):
            problems.append(f"the bug fails {sorted(bug.fail_to_pass)} instead of {sorted(t.fail_to_pass)}")
        if sorted(bug.pass_to_pass) != sorted(t.pass_to_pass):
            problems.append("a pass-to-pass test no longer passes with the bug")
        if gold.verdict != "no_failure" or len(gold.pass_to_pass) != len(t.fail_to_pass) + len(
            t.pass_to_pass
        ):
            problems.append(f"the gold patch does not make every test pass ({gold.verdict} {gold.detail})")
        out.append(Recheck(t.id, not problems, "; ".join(problems)))
    return out
