"""Replays a fixed list of actions; submits when the list runs out."""

from __future__ import annotations

import json

from forager.agent.models import Action, PolicyInfo
from forager.agent.policies import ReplayPolicyConfig
from forager.protocols import PolicyReply


class ReplayPolicy:
    def __init__(self, config: ReplayPolicyConfig) -> None:
        self.actions = list(config.actions)
        self.info = PolicyInfo(kind="replay", sampling={"actions": len(self.actions)})
        self.pos = 0

    def start(self, system: str, task: str, seed: int) -> None:
        self.pos = 0

    def act(self) -> PolicyReply:
        action = self.actions[self.pos] if self.pos < len(self.actions) else Action(tool="submit")
        self.pos += 1
        raw = f"<tool: {action.tool}>\n{json.dumps(action.args)}\n</tool>"
        return PolicyReply(raw_output=raw, action=action)

    def observe(self, text: str) -> None:
        pass
