"""Policies behind one protocol (`forager.protocols.Policy`), chosen by a typed config."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from forager.agent.models import Action
from forager.protocols import Policy


class OpenAIPolicyConfig(BaseModel):
    """Any OpenAI-compatible chat-completions endpoint (vLLM's server in production)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["openai"] = "openai"
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: SecretStr = SecretStr("EMPTY")
    model: str = "policy"
    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int = 2048
    native_tools: bool = Field(
        default=True, description="send tool schemas; text blocks are parsed either way"
    )
    timeout_s: float = 300.0
    max_retries: int = Field(default=4, ge=0, description="retries of transient errors (429, 5xx, network)")
    context_budget_tokens: int = Field(
        default=100_000, description="old observations are shortened past this"
    )


class ExplorerPolicyConfig(BaseModel):
    """A seeded scripted developer: lists, reads, greps, runs tests, tries small edits."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["explorer"] = "explorer"
    max_actions: int = Field(default=24, ge=1, description="submits after this many actions")
    edit_probability: float = Field(default=0.5, ge=0, le=1)


class ReplayPolicyConfig(BaseModel):
    """Replays recorded actions (regression tests, golden trajectories)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["replay"] = "replay"
    actions: list[Action]


PolicyConfig = Annotated[
    OpenAIPolicyConfig | ExplorerPolicyConfig | ReplayPolicyConfig, Field(discriminator="type")
]


def make_policy(config: OpenAIPolicyConfig | ExplorerPolicyConfig | ReplayPolicyConfig) -> Policy:
    """Build a policy from its config; imports lazily so unused backends cost nothing."""
    if config.type == "openai":
        from forager.agent.policies.openai_chat import OpenAIPolicy

        return OpenAIPolicy(config)
    if config.type == "explorer":
        from forager.agent.policies.explorer import ExplorerPolicy

        return ExplorerPolicy(config)
    from forager.agent.policies.replay import ReplayPolicy

    return ReplayPolicy(config)
