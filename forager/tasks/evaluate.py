"""Evaluating a candidate patch for a task: the reward the agent loop records.

In a fresh sandbox of the task's environment: apply the bug, apply the candidate, run the
fail-to-pass and pass-to-pass tests. All pass: reward 1. Otherwise a partial reward for a
patch close to the reference fix (CWM's scheme), else -1.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass

from forager.agent.models import Limits, TestResult
from forager.agent.tools import REPO, Shell, SuiteSpec, ToolBox
from forager.errors import ForagerError

PARTIAL_THRESHOLD = 0.5
FAIL_REWARD = -1.0


class TaskSetupError(ForagerError):
    """A task's bug patch does not apply to its environment."""


@dataclass
class Evaluation:
    reward: float
    resolved: bool
    applied: bool
    similarity: float
    results: list[TestResult]


def task_test_order(fail_to_pass: list[str], pass_to_pass: list[str]) -> list[str]:
    """The one order in which a task's tests run: when it is proven, rechecked and evaluated.
    Tests that share state can pass or fail by their order, so it must never change."""
    return sorted({*fail_to_pass, *pass_to_pass})


def git(shell: Shell, args: str, timeout_s: float = 60) -> tuple[int | None, str]:
    res = shell.run(
        f"cd {REPO} && git -c user.name=forager -c user.email=forager@localhost {args}", timeout_s
    )
    return res.exit_code, res.output


def apply_patch(shell: Shell, patch: str, name: str) -> tuple[bool, str]:
    path = f"/tmp/forager-{name}.patch"
    shell.write_file(path, patch.encode())
    code, out = git(shell, f"apply --whitespace=nowarn {shlex.quote(path)}")
    return code == 0, out


def prepare_task(shell: Shell, bug_patch: str) -> None:
    """Put the bug in and make it the base commit that the agent's diff is taken against."""
    ok, out = apply_patch(shell, bug_patch, "bug")
    if not ok:
        raise TaskSetupError(f"the task's bug patch does not apply: {out[-500:]}")
    code, out = git(shell, "commit -q -a --no-verify -m 'forager task'")
    if code != 0:
        raise TaskSetupError(f"cannot commit the task's base: {out[-500:]}")


def similarity(candidate: str, reference: str) -> float:
    """Similarity of the changed lines of two diffs (0..1)."""

    def changed(diff: str) -> list[str]:
        return [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]

    a, b = changed(candidate), changed(reference)
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def evaluate_in(
    shell: Shell,
    tests: SuiteSpec,
    bug_patch: str,
    fix_patch: str,
    fail_to_pass: list[str],
    pass_to_pass: list[str],
    candidate: str | None,
    limits: Limits | None = None,
) -> Evaluation:
    """Evaluate in a fresh sandbox `shell` of the task's environment (it is changed)."""
    prepare_task(shell, bug_patch)
    sim = similarity(candidate or "", fix_patch)
    if not candidate or not candidate.strip():
        return Evaluation(FAIL_REWARD, False, False, 0.0, [])
    applied, _ = apply_patch(shell, candidate, "candidate")
    if not applied:
        return Evaluation(FAIL_REWARD if sim < PARTIAL_THRESHOLD else 0.5 * sim, False, False, sim, [])
    box = ToolBox(shell, limits or Limits(command_timeout_s=600), tests)
    wanted = task_test_order(fail_to_pass, pass_to_pass)
    outcomes, _, _ = box.run_tests(wanted)
    got = {o.test_id: o.outcome for o in outcomes}
    results = [TestResult(test_id=t, outcome=got.get(t, "missing"), expected="passed") for t in wanted]
    resolved = bool(wanted) and all(r.outcome == "passed" for r in results)
    if resolved:
        reward = 1.0
    elif sim >= PARTIAL_THRESHOLD:
        reward = 0.5 * sim
    else:
        reward = FAIL_REWARD
    return Evaluation(reward, resolved, True, sim, results)
