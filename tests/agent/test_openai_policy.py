"""The `openai` policy against a local server speaking the chat-completions protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from forager.agent.errors import PolicyError
from forager.agent.policies import OpenAIPolicyConfig
from forager.agent.policies.openai_chat import OpenAIPolicy, shorten
from tests.agent.fake_openai import FakeChatServer, Scripted, tool_call


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    srv = FakeChatServer()
    yield srv
    srv.close()


def _policy(server: FakeChatServer, **kw: object) -> OpenAIPolicy:
    cfg = OpenAIPolicyConfig(base_url=server.base_url, model="tiny", api_key="sekret", max_retries=2, **kw)  # type: ignore[arg-type]
    policy = OpenAIPolicy(cfg)
    policy.start("system text", "task text", seed=7)
    return policy


def test_native_tool_call_and_tool_message_threading(server: FakeChatServer) -> None:
    server.push(
        Scripted(content="Looking.", tool_calls=[tool_call("bash", {"command": "ls -la"}, "c1")]),
        Scripted(tool_calls=[tool_call("view", {"path": "a.py", "view_range": [1, 5]}, "c2")]),
    )
    policy = _policy(server)
    first = policy.act()
    assert (
        first.action is not None
        and first.action.tool == "bash"
        and first.action.args == {"command": "ls -la"}
    )
    assert first.prompt_tokens == 101 and first.completion_tokens == 20 and first.llm_ms > 0
    policy.observe("total 0")
    second = policy.act()
    assert second.action is not None and second.action.args == {"path": "a.py", "view_range": [1, 5]}
    sent = server.requests[1]["body"]
    assert sent["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "total 0"}
    assert sent["messages"][-2]["tool_calls"][0]["id"] == "c1"
    assert (
        sent["seed"] == 7
        and sent["model"] == "tiny"
        and {t["function"]["name"] for t in sent["tools"]} >= {"bash", "edit", "submit"}
    )
    assert server.requests[0]["auth"] == "Bearer sekret"


def test_text_fallback_cwm_blocks_and_fences(server: FakeChatServer) -> None:
    server.push(
        Scripted(
            content="I'll edit.\n<tool: edit>\npkg/a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n</tool>"
        ),
        Scripted(content="Run it:\n```bash\npytest -q tests\n```"),
    )
    policy = _policy(server, native_tools=False)
    edit = policy.act()
    assert edit.action is not None and edit.action.tool == "edit"
    assert edit.action.args == {"path": "pkg/a.py", "old_str": "x = 1", "new_str": "x = 2"}
    assert "tools" not in server.requests[0]["body"]
    policy.observe("edited")
    fence = policy.act()
    assert fence.action is not None and fence.action.args == {"command": "pytest -q tests"}
    assert server.requests[1]["body"]["messages"][-1] == {"role": "user", "content": "edited"}


@pytest.mark.parametrize(
    "scripted",
    [
        Scripted(content="I think the bug is in line 3."),
        Scripted(content="<tool: bash>\nls\n</tool>\n<tool: bash>\npwd\n</tool>"),
        Scripted(content="<tool: teleport>\nmars\n</tool>"),
        Scripted(tool_calls=[tool_call("bash", "{not json")]),
        Scripted(
            tool_calls=[tool_call("bash", {"command": "ls"}), tool_call("bash", {"command": "pwd"}, "c2")]
        ),
    ],
)
def test_malformed_replies_are_format_errors(server: FakeChatServer, scripted: Scripted) -> None:
    server.push(scripted)
    reply = _policy(server).act()
    assert reply.action is None and reply.format_error


def test_http_500_is_retried_then_succeeds(server: FakeChatServer) -> None:
    server.push(Scripted(status=500), Scripted(status=503), Scripted(tool_calls=[tool_call("submit", {})]))
    reply = _policy(server).act()
    assert reply.action is not None and reply.action.tool == "submit"
    assert len(server.requests) == 3


def test_http_500_exhausts_retries(server: FakeChatServer) -> None:
    server.push(*[Scripted(status=500)] * 5)
    with pytest.raises(PolicyError, match="failed 3 times"):
        _policy(server).act()
    assert len(server.requests) == 3


def test_http_400_is_not_retried(server: FakeChatServer) -> None:
    server.push(Scripted(status=400), Scripted(tool_calls=[tool_call("submit", {})]))
    with pytest.raises(PolicyError, match="HTTP 400"):
        _policy(server).act()
    assert len(server.requests) == 1


def test_non_json_answer_is_a_policy_error(server: FakeChatServer) -> None:
    server.push(Scripted(raw_body="<html>gateway</html>"))
    with pytest.raises(PolicyError, match="no JSON"):
        _policy(server).act()


def test_context_budget_shortens_old_observations_only() -> None:
    big = "x" * 40_000
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]
    for i in range(8):
        messages += [{"role": "assistant", "content": f"a{i}"}, {"role": "user", "content": big + str(i)}]
    out = shorten(messages, budget_tokens=30_000)
    assert out[1]["content"] == "task" and messages[3]["content"] == big + "0"  # input untouched
    cut = [m for m in out if "elided" in str(m["content"])]
    assert cut and all(len(str(m["content"])) < 1000 for m in cut)
    assert out[-1]["content"] == big + "7"  # the newest observation stays whole while it fits
    assert sum(len(str(m["content"])) for m in out) // 4 <= 30_000
    tiny = shorten(messages, budget_tokens=2_000)  # even the newest is cut when it alone is too big
    assert sum(len(str(m["content"])) for m in tiny) // 4 <= 2_000 + 200
