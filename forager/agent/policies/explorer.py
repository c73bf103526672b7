"""The `explorer` policy: a seeded, scripted developer new to the repository.

It lists and reads files, greps, runs the tests, looks at what fails and tries small edits
(undoing those that make things worse), then submits. No LLM: its point is real observations
from real environments, harvested with no GPU. The same seed gives the same actions for the
same observations.
"""

from __future__ import annotations

import random
import re
import shlex
from collections import deque

from forager.agent.models import Action, PolicyInfo
from forager.agent.policies import ExplorerPolicyConfig
from forager.protocols import PolicyReply

_PY_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.py)\b")
_FAILED = re.compile(r"^(failed|error)\s+(\S+)", re.M)
_DEF = re.compile(r"^(\s*)def (\w+)\(", re.M)
# Small, plausible edits a developer tries: (pattern, replacement) on one line.
_TWEAKS: list[tuple[str, str]] = [
    (" <= ", " < "),
    (" < ", " <= "),
    (" >= ", " > "),
    (" > ", " >= "),
    (" == ", " != "),
    (" != ", " == "),
    (" + 1", " - 1"),
    (" - 1", " + 1"),
    (" and ", " or "),
    (" or ", " and "),
    ("not ", ""),
]


class ExplorerPolicy:
    def __init__(self, config: ExplorerPolicyConfig) -> None:
        self.config = config
        self.info = PolicyInfo(kind="explorer", sampling=config.model_dump(exclude={"type"}))
        self.rng = random.Random(0)
        self.queue: deque[Action] = deque()
        self.files: list[str] = []
        self.focus: list[str] = []
        self.last_obs = ""
        self.last_action: Action | None = None
        self.done = 0
        self.phase = "orient"
        self.pending_edit: tuple[str, str, str] | None = None  # path, old, new
        self.tweak_path = ""
        self.failures_before: int | None = None

    def start(self, system: str, task: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.focus = [p for p in _PY_PATH.findall(task) if not p.startswith(("/", "."))]
        self.queue = deque(
            [
                Action(tool="bash", args={"command": "ls -la"}),
                Action(
                    tool="bash",
                    args={"command": "find . -name '*.py' -not -path './.git/*' | sort | head -200"},
                ),
            ]
        )
        self.phase = "orient"
        self.done = 0

    def observe(self, text: str) -> None:
        self.last_obs = text
        if (
            self.last_action
            and self.last_action.tool == "bash"
            and "find . -name" in str(self.last_action.args.get("command"))
        ):
            self.files = [ln.strip()[2:] for ln in text.splitlines() if ln.strip().startswith("./")]

    def act(self) -> PolicyReply:
        if self.done >= self.config.max_actions:
            return self._reply(Action(tool="submit"), "I have looked around enough; submitting.")
        if not self.queue:
            self._plan_next()
        action = self.queue.popleft() if self.queue else Action(tool="submit")
        self.done += 1
        return self._reply(action, _thought(action))

    def _reply(self, action: Action, thought: str) -> PolicyReply:
        self.last_action = action
        body = _text_args(action)
        return PolicyReply(raw_output=f"{thought}\n<tool: {action.tool}>\n{body}\n</tool>", action=action)

    # The phases: orient -> read -> test -> inspect -> tweak -> verify -> submit.
    def _plan_next(self) -> None:
        if self.phase == "orient":
            self.phase = "read"
            readme = next(
                (f for f in ("README.md", "README.rst", "README.txt", "README") if f in self.last_obs), None
            )
            if readme:
                self.queue.append(Action(tool="bash", args={"command": f"head -40 {readme}"}))
            targets = self._targets()
            for path in targets[:2]:
                self.queue.append(Action(tool="view", args={"path": path}))
            if targets:
                self.queue.append(
                    Action(
                        tool="bash", args={"command": f"grep -n 'def ' {shlex.quote(targets[0])} | head -30"}
                    )
                )
            return
        if self.phase == "read":
            self.phase = "test"
            word = self._identifier()
            if word:
                self.queue.append(
                    Action(
                        tool="bash",
                        args={"command": f"grep -rn --include='*.py' {shlex.quote(word)} . | head -20"},
                    )
                )
            self.queue.append(Action(tool="run_tests", args=self._test_selection()))
            return
        if self.phase == "test":
            failing = [m[1] for m in _FAILED.findall(self.last_obs)]
            self.failures_before = len(failing)
            self.phase = "inspect"
            if failing:
                test_id = self.rng.choice(failing)
                path = test_id.split("::", 1)[0]
                name = test_id.rsplit("::", 1)[-1].split("[", 1)[0]
                self.queue.append(
                    Action(
                        tool="bash",
                        args={"command": f"grep -n {shlex.quote('def ' + name)} {shlex.quote(path)}"},
                    )
                )
            return
        if self.phase == "inspect":
            self.phase = "tweak"
            if self.rng.random() < self.config.edit_probability:
                self._queue_tweak()
            return
        if self.phase == "choose_tweak":
            self.phase = "tweak"
            self._choose_tweak()
            if self.queue:
                return
        if self.phase == "tweak":
            self.phase = "verify"
            if self.pending_edit:
                self.queue.append(Action(tool="run_tests", args=self._test_selection()))
            return
        if self.phase == "verify":
            self.phase = "submit"
            if self.pending_edit:
                now_failing = len(_FAILED.findall(self.last_obs))
                if self.failures_before is not None and now_failing > self.failures_before:
                    self.queue.append(Action(tool="undo_edit", args={"path": self.pending_edit[0]}))
            return
        self.queue.append(Action(tool="submit"))

    def _targets(self) -> list[str]:
        sources = [
            f for f in self.files if "test" not in f.lower() and not f.endswith(("setup.py", "conftest.py"))
        ]
        focus = [f for f in self.focus if f in self.files] or self.focus
        rest = [f for f in sources if f not in focus]
        self.rng.shuffle(rest)
        return focus + rest

    def _identifier(self) -> str | None:
        names = [m[1] for m in _DEF.findall(self.last_obs) if not m[1].startswith("__")]
        if not names:
            names = re.findall(r"\bdef (\w+)", self.last_obs)
        return self.rng.choice(names) if names else None

    def _test_selection(self) -> dict[str, object]:
        tests = [f for f in self.files if re.search(r"(^|/)test_[\w]+\.py$|_test\.py$", f)]
        focus_stems = {f.rsplit("/", 1)[-1].removesuffix(".py") for f in self.focus}
        related = [t for t in tests if any(stem in t for stem in focus_stems)]
        if related:
            return {"tests": related[:3]}
        return {}

    def _queue_tweak(self) -> None:
        """Look for lines a small tweak applies to; the grep output picks one (next phase)."""
        targets = self._targets()
        if not targets:
            return
        self.tweak_path = targets[0]
        pattern = shlex.quote(r" (<=|<|>=|>|==|!=) |\+ 1|- 1| and | or |not ")
        self.queue.append(
            Action(
                tool="bash",
                args={"command": f"grep -n -E {pattern} {shlex.quote(self.tweak_path)} | head -40"},
            )
        )
        self.phase = "choose_tweak"

    def _choose_tweak(self) -> None:
        candidates: list[tuple[str, str, str]] = []
        for ln in self.last_obs.splitlines():
            m = re.match(r"^(\d+):(.*)$", ln)
            if not m:
                continue
            code = m.group(2)
            for old, new in _TWEAKS:
                if old in code and not code.lstrip().startswith("#"):
                    candidates.append((code, code.replace(old, new, 1), old))
        if not candidates:
            return
        old_line, new_line, _ = self.rng.choice(candidates)
        self.pending_edit = (self.tweak_path, old_line, new_line)
        self.queue.append(
            Action(tool="edit", args={"path": self.tweak_path, "old_str": old_line, "new_str": new_line})
        )


def _thought(action: Action) -> str:
    return {
        "bash": "Let me look at this.",
        "view": "Reading the code.",
        "run_tests": "Running the tests to see where things stand.",
        "edit": "Trying a small change.",
        "undo_edit": "That made things worse; undoing it.",
        "submit": "Submitting.",
    }.get(action.tool, "Next step.")


def _text_args(action: Action) -> str:
    a = action.args
    if action.tool == "bash":
        return str(a.get("command", ""))
    if action.tool == "view":
        rng = a.get("view_range")
        return f"{a['path']} {rng[0]} {rng[1]}" if rng else str(a["path"])
    if action.tool == "edit":
        return f"{a['path']}\n<<<<<<< SEARCH\n{a['old_str']}\n=======\n{a['new_str']}\n>>>>>>> REPLACE"
    if action.tool == "undo_edit":
        return str(a["path"])
    if action.tool == "run_tests":
        return " ".join(a.get("tests", []))
    return ""
