"""The `openai` policy: any OpenAI-compatible chat-completions endpoint.

Native tool calls when the server returns them, else the text forms of `forager.agent.parsing`.
Transient failures (network, 429, 5xx) are retried with backoff; other 4xx end the episode.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from tenacity import RetryError, retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from forager.agent.errors import FormatError, PolicyError
from forager.agent.models import Action, PolicyInfo
from forager.agent.parsing import parse_action
from forager.agent.policies import OpenAIPolicyConfig
from forager.agent.tool_specs import TOOL_SPECS
from forager.protocols import PolicyReply

KEEP_RECENT = 4  # observations never shortened, newest first
_ELIDED = "\n[... {n} characters elided to keep the context in budget ...]\n"


class _Transient(Exception):
    pass


class OpenAIPolicy:
    def __init__(self, config: OpenAIPolicyConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.info = PolicyInfo(
            kind="openai",
            model=config.model,
            sampling={
                "temperature": config.temperature,
                "top_p": config.top_p,
                "max_tokens": config.max_tokens,
            },
        )
        self.client = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout_s,
            headers={"Authorization": f"Bearer {config.api_key.get_secret_value()}"},
            transport=transport,
        )
        self.messages: list[dict[str, Any]] = []
        self.seed = 0
        self._pending_tool_call: str | None = None

    def start(self, system: str, task: str, seed: int) -> None:
        self.seed = seed
        self.messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
        self._pending_tool_call = None

    def observe(self, text: str) -> None:
        if self._pending_tool_call:
            self.messages.append({"role": "tool", "tool_call_id": self._pending_tool_call, "content": text})
            self._pending_tool_call = None
        else:
            self.messages.append({"role": "user", "content": text})

    def act(self) -> PolicyReply:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": shorten(self.messages, self.config.context_budget_tokens),
            "temperature": self.config.temperature,
            "top_p": self.config.top_p,
            "max_tokens": self.config.max_tokens,
            "seed": self.seed,
        }
        if self.config.native_tools:
            body["tools"] = TOOL_SPECS
        t0 = time.monotonic()
        data = self._post(body)
        llm_ms = (time.monotonic() - t0) * 1000
        usage = data.get("usage") or {}
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise PolicyError(f"the server answered without a choice: {str(data)[:300]}") from None
        reply = PolicyReply(
            raw_output="",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            llm_ms=llm_ms,
        )
        content = message.get("content") or ""
        calls = message.get("tool_calls") or []
        assistant: dict[str, Any] = {"role": "assistant", "content": content}
        try:
            if calls:
                call = calls[0]
                fn = call.get("function") or {}
                reply.raw_output = content + (f"\n<tool_call>{json.dumps(fn)}</tool_call>" if fn else "")
                assistant["tool_calls"] = [call]
                self._pending_tool_call = call.get("id") or "call_0"
                if len(calls) > 1:
                    raise FormatError(f"{len(calls)} tool calls in one reply; make exactly one per reply")
                reply.action = _native_action(fn)
            else:
                reply.raw_output = content
                reply.action = parse_action(content)
        except FormatError as exc:
            reply.action = None
            reply.format_error = str(exc)
        self.messages.append(assistant)
        return reply

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        @retry(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=wait_exponential(multiplier=0.5, max=20),
            reraise=False,
        )
        def once() -> dict[str, Any]:
            try:
                resp = self.client.post("/chat/completions", json=body)
            except httpx.TransportError as exc:
                raise _Transient(f"network: {exc}") from exc
            if resp.status_code == 429 or resp.status_code >= 500:
                raise _Transient(f"HTTP {resp.status_code}: {resp.text[:200]}")
            if resp.status_code >= 400:
                raise PolicyError(
                    f"the policy server refused the request: HTTP {resp.status_code}: {resp.text[:300]}"
                )
            try:
                data: dict[str, Any] = resp.json()
            except ValueError as exc:
                raise PolicyError(f"the policy server sent no JSON: {resp.text[:200]}") from exc
            return data

        try:
            return once()
        except RetryError as exc:
            raise PolicyError(
                f"the policy server failed {self.config.max_retries + 1} times: "
                f"{exc.last_attempt.exception()}"
            ) from exc

    def close(self) -> None:
        self.client.close()


def _native_action(fn: dict[str, Any]) -> Action:
    name = fn.get("name") or ""
    raw = fn.get("arguments") or "{}"
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        raise FormatError(f"the arguments of {name!r} are not valid JSON: {raw[:200]}") from None
    if not isinstance(args, dict):
        raise FormatError(f"the arguments of {name!r} must be a JSON object")
    if name not in {s["function"]["name"] for s in TOOL_SPECS}:
        raise FormatError(f"unknown tool {name!r}")
    return Action(tool=name, args=args)


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    # ~4 characters a token for code and English; exact counts come back in `usage`.
    return (
        sum(len(str(m.get("content") or "")) + len(json.dumps(m.get("tool_calls") or "")) for m in messages)
        // 4
    )


def shorten(messages: list[dict[str, Any]], budget_tokens: int) -> list[dict[str, Any]]:
    """Cut the middle of observations until the history fits the budget: old ones first,
    then the recent ones, the newest last (and only down to what the budget leaves it)."""
    out = [dict(m) for m in messages]
    observations = [i for i, m in enumerate(out) if m["role"] in ("tool", "user") and i > 1]
    old, recent = observations[:-KEEP_RECENT], observations[-KEEP_RECENT:]
    for i in [*old, *recent[:-1]]:
        if estimate_tokens(out) <= budget_tokens:
            return out
        out[i]["content"] = _cut(str(out[i]["content"]), 400)
    if recent and estimate_tokens(out) > budget_tokens:
        last = recent[-1]
        others = estimate_tokens(out) - len(str(out[last]["content"])) // 4
        out[last]["content"] = _cut(str(out[last]["content"]), max(400, (budget_tokens - others) * 4))
    return out


def _cut(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    half = keep // 2
    return text[:half] + _ELIDED.format(n=len(text) - 2 * half) + text[-half:]
