"""Golden trajectories: fixed actions replayed in a real sandbox must observe exactly what the
recorded file says (up to timings). A change to a tool's output, the prompt or the patch
format shows up here as a diff to review.

Regenerate after an intended change: `bash scripts/regen-golden.sh` (or set
FORAGER_REGEN_GOLDEN=1 for this test), then review `git diff tests/agent/golden`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from forager.agent.episode import run_episode
from forager.agent.models import Action
from forager.agent.policies import ReplayPolicyConfig
from forager.config import Settings

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("FORAGER_REGEN_GOLDEN") == "1"

# Timings are the only thing allowed to differ between runs.
_TIMINGS = [
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<T>s"),
    (re.compile(r"\b\d+(\.\d+)? ?ms\b"), "<T> ms"),
]

CALC_FIX = [
    Action(tool="bash", args={"command": "git status --short; ls"}),
    Action(tool="view", args={"path": "calc/core.py"}),
    Action(tool="bash", args={"command": "grep -rn 'def ' calc | sort"}),
    Action(tool="run_tests", args={"tests": ["tests/test_core.py::test_add"]}),
    Action(tool="edit", args={"path": "calc/core.py", "old_str": "return a * b", "new_str": "return b * a"}),
    Action(tool="insert", args={"path": "calc/core.py", "insert_line": 0, "new_str": '"""Calculator."""'}),
    Action(tool="view", args={"path": "calc/core.py", "view_range": [1, 3]}),
    Action(tool="undo_edit", args={"path": "calc/core.py"}),
    Action(tool="run_tests", args={}),
    Action(tool="bash", args={"command": "python -c 'import calc.core as c; print(c.mul(6, 7))'; exit 3"}),
    Action(tool="submit", args={}),
]


def _normalized(text: str) -> str:
    for pattern, repl in _TIMINGS:
        text = pattern.sub(repl, text)
    return text


def _record(traj: Any) -> dict[str, Any]:
    return {
        "format": traj.format,
        "exit_status": traj.exit_status,
        "steps": [
            {
                "raw_output": step.raw_output,
                "tool": step.action.tool if step.action else None,
                "args": step.action.args if step.action else None,
                "exit_code": step.observation.exit_code,
                "truncated": step.observation.truncated,
                "observation": _normalized(step.observation.text),
            }
            for step in traj.steps
        ],
        "final_patch": traj.final_patch,
    }


@pytest.mark.parametrize("name, actions", [("calc_fix", CALC_FIX)])
def test_golden_trajectory(settings: Settings, calc_env: int, name: str, actions: list[Action]) -> None:
    traj = run_episode(calc_env, settings, ReplayPolicyConfig(actions=actions), seed=0)
    got = _record(traj)
    path = GOLDEN / f"{name}.json"
    if REGENERATE:
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
        return
    assert path.exists(), f"no golden file {path}: run scripts/regen-golden.sh"
    want = json.loads(path.read_text())
    assert got["exit_status"] == want["exit_status"]
    assert len(got["steps"]) == len(want["steps"])
    for i, (g, w) in enumerate(zip(got["steps"], want["steps"], strict=True)):
        assert g == w, f"step {i} ({w['tool']}) differs from {path.name}"
    assert got["final_patch"] == want["final_patch"]
