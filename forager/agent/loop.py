"""The agent loop: ask the policy, parse, execute, record — until an exit status ends it.

Control flow ends by exceptions that carry the exit status (`Submitted`, `LimitsExceeded`,
`EpisodeEnd`); each step is written to the store before the policy sees its observation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import docker.errors
import requests.exceptions

from forager.agent.errors import AgentError, EpisodeEnd, LimitsExceeded, PolicyError, Submitted
from forager.agent.models import Limits, Observation, StepRecord, Totals
from forager.agent.tools import Shell, ToolBox
from forager.errors import ForagerError
from forager.protocols import NullReporter, Policy, Reporter
from forager.store.episodes import EpisodeStore

FORMAT_HINT = "\nReply with exactly one tool call, e.g.\n<tool: bash>\nls\n</tool>"


@dataclass
class EpisodeResult:
    episode_id: int
    exit_status: str
    detail: str
    final_patch: str | None
    totals: Totals


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def run_loop(
    episode_id: int,
    policy: Policy,
    shell: Shell,
    toolbox: ToolBox,
    store: EpisodeStore,
    limits: Limits,
    system: str,
    task: str,
    seed: int,
    reporter: Reporter | None = None,
) -> EpisodeResult:
    """Run one episode to its end; the caller owns the sandbox and finishes the episode row."""
    reporter = reporter or NullReporter()
    totals = Totals()
    t0 = time.monotonic()
    bad_replies = 0
    status, detail = "env_error", ""
    try:
        policy.start(system, task, seed)
        while True:
            if totals.steps >= limits.max_steps:
                raise LimitsExceeded("step_limit", f"{limits.max_steps} steps")
            if time.monotonic() - t0 > limits.max_wall_s:
                raise LimitsExceeded("time_limit", f"{limits.max_wall_s:.0f} s")
            if totals.prompt_tokens + totals.completion_tokens > limits.max_tokens:
                raise LimitsExceeded("token_limit", f"{limits.max_tokens} tokens")
            started = _now()
            try:
                reply = policy.act()
            except PolicyError as exc:
                raise EpisodeEnd("policy_error", str(exc)) from exc
            totals.prompt_tokens += reply.prompt_tokens
            totals.completion_tokens += reply.completion_tokens
            totals.llm_ms += reply.llm_ms
            submitted: Submitted | None = None
            exec_start = time.monotonic()
            if reply.action is None:
                bad_replies += 1
                obs = Observation(text=f"error: {reply.format_error}{FORMAT_HINT}")
            else:
                bad_replies = 0
                reporter.stage("step", f"{totals.steps + 1}: {reply.action.tool}")
                try:
                    obs = toolbox.execute(reply.action)
                except Submitted as exc:
                    submitted = exc
                    obs = Observation(text="submitted")
            exec_ms = (time.monotonic() - exec_start) * 1000
            totals.exec_ms += exec_ms
            store.add_step(
                episode_id,
                StepRecord(
                    index=totals.steps,
                    raw_output=reply.raw_output,
                    action=reply.action,
                    observation=obs,
                    error=reply.format_error,
                    prompt_tokens=reply.prompt_tokens,
                    completion_tokens=reply.completion_tokens,
                    llm_ms=reply.llm_ms,
                    exec_ms=exec_ms,
                    started_at=started,
                    finished_at=_now(),
                ),
                limits.stored_output_bytes,
            )
            totals.steps += 1
            if submitted is not None:
                raise submitted
            if bad_replies >= limits.format_retries:
                raise EpisodeEnd("format_error", f"{bad_replies} replies in a row had no valid tool call")
            policy.observe(obs.text)
    except EpisodeEnd as end:
        status, detail = end.status, end.detail
    except AgentError as exc:
        status, detail = "policy_error", str(exc)
    except (
        ForagerError,
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        OSError,
    ) as exc:
        # The sandbox died or the engine failed: the environment, not the policy, ended it.
        status, detail = "env_error", f"{type(exc).__name__}: {exc}"
    totals.wall_s = round(time.monotonic() - t0, 3)
    patch = toolbox.final_patch
    if patch is None and status != "env_error":
        try:
            patch = toolbox.diff()
        except Exception:
            patch = None
    return EpisodeResult(episode_id, status, detail, patch, totals)
