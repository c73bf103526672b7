"""Episodes end to end: real sandboxes from a verified environment, every step in PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import docker
import pytest

from forager.agent.episode import run_episode
from forager.agent.models import Action, Limits
from forager.agent.policies import ExplorerPolicyConfig, OpenAIPolicyConfig, ReplayPolicyConfig
from forager.config import Settings
from forager.store.episodes import EpisodeStore
from forager.store.models import TaskRow
from forager.store.tasks import TaskStore
from tests.agent.fake_openai import FakeChatServer, Scripted, tool_call

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def A(tool: str, **args: object) -> Action:
    return Action(tool=tool, args=args)


def _replay(settings: Settings, env: int, actions: list[Action], **kw: object):  # type: ignore[no-untyped-def]
    return run_episode(env, settings, ReplayPolicyConfig(actions=actions), **kw)  # type: ignore[arg-type]


def test_every_tool_and_the_final_patch(settings: Settings, calc_env: int) -> None:
    traj = _replay(
        settings,
        calc_env,
        [
            A("view", path="."),
            A("view", path="calc/core.py", view_range=[1, 2]),
            A("edit", path="calc/core.py", old_str="return a + b", new_str="return b + a"),
            A("edit", path="calc/core.py", old_str="no such text", new_str="x"),
            A("edit", path="calc/core.py", old_str="return", new_str="x"),
            A("insert", path="calc/core.py", insert_line=0, new_str="# calculator"),
            A("undo_edit", path="calc/core.py"),
            A("create", path="calc/extra.py", file_text="VALUE = 1\n"),
            A("create", path="calc/extra.py", file_text="again"),
            A("create", path="nowhere/x.py", file_text="x"),
            A("bash", command="cd calc && export FOO=bar"),
            A("bash", command="pwd; echo $FOO"),
            A("run_tests", tests=["tests/test_core.py::test_add"]),
            A("run_tests"),
            A("view", path="../etc/passwd"),
            A("bash", command="ln -s /etc /repo/etc_link"),
            A("view", path="etc_link/passwd"),
            A("bash", command="rm /repo/etc_link; printf 'bin\\x00ary\\xff' > /tmp/b; cat /tmp/b"),
            A("submit"),
        ],
    )
    assert traj.status == "finished" and traj.exit_status == "submitted"
    obs = [s.observation.text for s in traj.steps]
    assert "./calc/core.py" in obs[0]
    assert obs[1].splitlines()[0].endswith("def add(a, b):") and len(obs[1].splitlines()) == 2
    assert obs[2].startswith("edited /repo/calc/core.py") and "return b + a" in obs[2]
    assert "was not found" in obs[3] and "occurs 2 times" in obs[4]
    assert "inserted" in obs[5] and "restored" in obs[6]
    assert obs[7].startswith("created") and "already exists" in obs[8] and "does not exist" in obs[9]
    assert obs[11].strip().splitlines() == ["/repo/calc", "bar"]
    assert obs[12].startswith("1 passed") and "passed   tests/test_core.py::test_add" in obs[12]
    assert obs[13].startswith("3 passed")
    assert "outside the repository" in obs[14] and "outside the repository" in obs[16]
    assert "bin\ufffdary" in obs[17] or "bin\x00ary" in obs[17]
    patch = traj.final_patch or ""
    assert "+    return b + a" in patch and "-    return a + b" in patch
    assert "+VALUE = 1" in patch and "calc/extra.py" in patch
    assert "# calculator" not in patch  # undone
    assert ".pyc" not in patch and "egg-info" not in patch
    assert traj.totals.steps == len(traj.steps) == 19
    assert [s.index for s in traj.steps] == list(range(19))


def test_sleep_times_out_and_the_session_goes_on(settings: Settings, calc_env: int) -> None:
    traj = _replay(
        settings,
        calc_env,
        [A("bash", command="sleep 1000"), A("bash", command="echo alive")],
        limits=Limits(command_timeout_s=2),
    )
    first, second = traj.steps[0].observation, traj.steps[1].observation
    assert first.timed_out and "timed out" in first.text and first.duration_ms < 10_000
    assert second.text.strip() == "alive" and second.exit_code == 0


def test_huge_output_is_cut_for_the_policy_and_bounded_in_store(settings: Settings, calc_env: int) -> None:
    traj = _replay(settings, calc_env, [A("bash", command="head -c 50000000 /dev/zero | tr '\\0' a")])
    obs = traj.steps[0].observation
    assert obs.truncated and obs.output_bytes == 50_000_000
    assert len(obs.text) < 20_000
    assert obs.output is not None and len(obs.output) <= Limits().stored_output_bytes


def test_network_is_off(settings: Settings, calc_env: int) -> None:
    traj = _replay(
        settings,
        calc_env,
        [
            A(
                "bash",
                command=(
                    "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)\"; echo rc=$?; "
                    "ls /sys/class/net"
                ),
            )
        ],
    )
    text = traj.steps[0].observation.text
    assert "rc=1" in text and text.strip().splitlines()[-1] == "lo"


def test_step_limit(settings: Settings, calc_env: int) -> None:
    traj = _replay(settings, calc_env, [A("bash", command="true")] * 10, limits=Limits(max_steps=3))
    assert traj.exit_status == "step_limit" and len(traj.steps) == 3


def test_killed_shell_server_ends_with_env_error(
    settings: Settings, calc_env: int, docker_client: docker.DockerClient
) -> None:
    traj = _replay(
        settings,
        calc_env,
        [
            A("bash", command="echo before"),
            A("bash", command="kill -9 $(pgrep -f forager_shell)"),
            A("bash", command="echo after"),
        ],
    )
    assert traj.exit_status == "env_error" and traj.status == "finished"
    assert traj.steps[0].observation.text.strip() == "before"
    left = docker_client.containers.list(all=True, filters={"label": f"forager.episode={traj.episode_id}"})
    assert left == []


def test_killed_container_ends_with_env_error(
    settings: Settings, calc_env: int, docker_client: docker.DockerClient
) -> None:
    def kill_soon() -> None:
        for _ in range(100):
            found = docker_client.containers.list(filters={"label": "forager.kind=sandbox"})
            mine = [c for c in found if c.labels.get("forager.instance") == settings.instance]
            if mine:
                mine[0].kill()
                return
            threading.Event().wait(0.1)

    killer = threading.Thread(target=kill_soon)
    killer.start()
    traj = _replay(settings, calc_env, [A("bash", command="sleep 5")] * 4)
    killer.join()
    assert traj.exit_status == "env_error"
    assert (
        docker_client.containers.list(all=True, filters={"label": f"forager.episode={traj.episode_id}"}) == []
    )


def test_explorer_is_seeded_and_records_real_observations(settings: Settings, calc_env: int) -> None:
    cfg = ExplorerPolicyConfig(max_actions=12, edit_probability=1.0)
    one = run_episode(calc_env, settings, cfg, seed=3, idempotency_key="explorer-a")
    two = run_episode(calc_env, settings, cfg, seed=3, idempotency_key="explorer-b")
    assert one.exit_status == "submitted" and 4 <= len(one.steps) <= 13
    assert [s.action for s in one.steps] == [s.action for s in two.steps]
    tools = {s.action.tool for s in one.steps if s.action}
    assert {"bash", "run_tests", "submit"} <= tools
    assert any("calc/core.py" in s.observation.text for s in one.steps)


@pytest.fixture
def chat() -> Iterator[FakeChatServer]:
    srv = FakeChatServer()
    yield srv
    srv.close()


def test_openai_policy_episode(settings: Settings, calc_env: int, chat: FakeChatServer) -> None:
    chat.push(
        Scripted(tool_calls=[tool_call("bash", {"command": "ls calc"})]),
        Scripted(content="Let me read it.\n<tool: view>\ncalc/core.py\n</tool>"),
        Scripted(content="oops, no tool here"),
        Scripted(tool_calls=[tool_call("run_tests", {})]),
        Scripted(tool_calls=[tool_call("submit", {})]),
    )
    traj = run_episode(calc_env, settings, OpenAIPolicyConfig(base_url=chat.base_url, model="m"))
    assert traj.exit_status == "submitted" and len(traj.steps) == 5
    assert traj.steps[2].action is None and traj.steps[2].error
    assert traj.steps[0].prompt_tokens > 0 and traj.totals.prompt_tokens == sum(
        s.prompt_tokens for s in traj.steps
    )
    assert "core.py" in traj.steps[0].observation.text
    assert traj.policy.kind == "openai" and traj.policy.model == "m"


def test_openai_format_errors_end_the_episode(
    settings: Settings, calc_env: int, chat: FakeChatServer
) -> None:
    chat.push(*[Scripted(content="I am thinking.")] * 5)
    traj = run_episode(
        calc_env,
        settings,
        OpenAIPolicyConfig(base_url=chat.base_url, max_retries=0),
        limits=Limits(format_retries=3),
    )
    assert traj.exit_status == "format_error" and len(traj.steps) == 3


def test_openai_http_400_is_a_policy_error(settings: Settings, calc_env: int, chat: FakeChatServer) -> None:
    chat.push(Scripted(status=400))
    traj = run_episode(calc_env, settings, OpenAIPolicyConfig(base_url=chat.base_url))
    assert traj.exit_status == "policy_error" and traj.steps == [] and "HTTP 400" in (traj.exit_detail or "")


def test_task_reward_from_a_fresh_sandbox(settings: Settings, calc_env: int) -> None:
    bug = (
        "diff --git a/calc/core.py b/calc/core.py\n--- a/calc/core.py\n+++ b/calc/core.py\n"
        "@@ -1,5 +1,5 @@\n def add(a, b):\n-    return a + b\n+    return a - b\n \n \n def mul(a, b):\n"
    )
    fix = (
        "diff --git a/calc/core.py b/calc/core.py\n--- a/calc/core.py\n+++ b/calc/core.py\n"
        "@@ -1,5 +1,5 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n \n \n def mul(a, b):\n"
    )
    task_id = TaskStore(settings.db_url).add(
        TaskRow(
            environment_id=calc_env,
            kind="mutate_fix",
            family="operator_swap",
            fingerprint="t-" + str(calc_env),
            target_file="calc/core.py",
            target_symbol="add",
            line_start=1,
            line_end=2,
            bug_patch=bug,
            fix_patch=fix,
            fail_to_pass=["tests/test_core.py::test_add"],
            pass_to_pass=["tests/test_core.py::test_mul"],
            problem_statement="The function `add` in calc/core.py is broken. Fix it.",
        )
    )
    assert task_id is not None
    fixed = _replay(
        settings,
        calc_env,
        [
            A("run_tests", tests=["tests/test_core.py::test_add"]),
            A("edit", path="calc/core.py", old_str="return a - b", new_str="return a + b"),
            A("submit"),
        ],
        task_id=task_id,
    )
    assert "1 failed" in fixed.steps[0].observation.text  # the bug is in place for the agent
    assert fixed.exit_status == "submitted" and fixed.reward == 1.0
    assert {r.test_id: r.outcome for r in fixed.test_results} == {
        "tests/test_core.py::test_add": "passed",
        "tests/test_core.py::test_mul": "passed",
    }
    assert fixed.final_patch is not None and "+    return a + b" in fixed.final_patch
    nothing = _replay(settings, calc_env, [A("submit")], task_id=task_id)
    assert nothing.reward == -1.0


def test_episode_rows_finish_last(settings: Settings, calc_env: int) -> None:
    traj = _replay(settings, calc_env, [A("bash", command="echo hi")], idempotency_key="same-key")
    again = _replay(settings, calc_env, [A("bash", command="echo other")], idempotency_key="same-key")
    assert again.episode_id == traj.episode_id and len(again.steps) == 2  # a finished key is not rerun
    assert EpisodeStore(settings.db_url).is_finished(traj.episode_id)
