"""One episode end to end: sandbox from a verified environment, optional task, loop, reward.

Every step is in the store as it happens; the episode row turns `finished` only at the end,
with the exit status, the final patch and (for a task) the reward from a fresh sandbox.
"""

from __future__ import annotations

import contextlib
import hashlib
from contextlib import ExitStack

import docker

from forager.agent.errors import AgentError
from forager.agent.loop import EpisodeResult, run_loop
from forager.agent.models import Limits, TestResult, Totals, Trajectory
from forager.agent.policies import ExplorerPolicyConfig, OpenAIPolicyConfig, ReplayPolicyConfig, make_policy
from forager.agent.prompts import system_prompt, task_prompt
from forager.agent.tools import ToolBox, suite_of
from forager.config import Settings
from forager.dockerhost import LABEL_INSTANCE, get_docker
from forager.errors import ForagerError
from forager.protocols import NullReporter, Reporter
from forager.sandbox.config import SandboxConfig
from forager.sandbox.lifecycle import LABEL_EPISODE, sandbox_session
from forager.sandbox.session import Sandbox
from forager.store.environments import EnvironmentStore
from forager.store.episodes import EpisodeStore
from forager.store.models import TaskRow
from forager.store.tasks import TaskStore
from forager.tasks.evaluate import TaskSetupError, evaluate_in, prepare_task
from forager.validate.container_run import runners_files

AnyPolicyConfig = OpenAIPolicyConfig | ExplorerPolicyConfig | ReplayPolicyConfig


class EpisodeSetupError(AgentError):
    """The episode cannot start: unknown or unverified environment, task of another one."""


def sandbox_config(settings: Settings, limits: Limits, episode: str) -> SandboxConfig:
    return SandboxConfig.from_settings(
        settings,
        workdir="/repo",
        default_timeout_s=limits.command_timeout_s,
        show_head_bytes=limits.shown_output_bytes // 2,
        show_tail_bytes=limits.shown_output_bytes // 2,
        store_max_bytes=max(limits.stored_output_bytes, limits.shown_output_bytes),
        labels={LABEL_INSTANCE: settings.instance},
    )


def remove_episode_containers(episode_id: int) -> None:
    client = get_docker()
    for name in (str(episode_id), f"{episode_id}-eval"):
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_EPISODE}={name}"}):
            with contextlib.suppress(docker.errors.APIError):
                c.remove(force=True)


def install_runners(sandbox: Sandbox) -> None:
    for name, data in runners_files().items():
        sandbox.write_file(f"/opt/forager/runners/{name}", data)


def default_key(env_id: int, task_id: int | None, policy: AnyPolicyConfig, seed: int) -> str:
    blob = f"{env_id}:{task_id}:{policy.model_dump_json()}:{seed}"
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def run_episode(
    env_id: int,
    settings: Settings,
    policy_config: AnyPolicyConfig,
    task_id: int | None = None,
    seed: int = 0,
    limits: Limits | None = None,
    idempotency_key: str | None = None,
    reporter: Reporter | None = None,
) -> Trajectory:
    reporter = reporter or NullReporter()
    limits = limits or Limits()
    env = EnvironmentStore(settings.db_url).get(env_id)
    if env.status != "verified" or not env.image_tag:
        raise EpisodeSetupError(
            f"environment {env_id} is {env.status}, not verified: no episode can run in it"
        )
    task: TaskRow | None = None
    if task_id is not None:
        task = TaskStore(settings.db_url).get(task_id)
        if task.environment_id != env_id:
            raise EpisodeSetupError(
                f"task {task_id} belongs to environment {task.environment_id}, not {env_id}"
            )
    policy = make_policy(policy_config)
    store = EpisodeStore(settings.db_url)
    episode_id = store.start(env_id, task_id, policy.info, seed, limits, idempotency_key)
    if store.is_finished(episode_id):  # a redelivered job whose episode is complete
        return store.trajectory(episode_id)
    remove_episode_containers(episode_id)  # a redelivered job: its killed predecessor's sandbox
    tests = suite_of(env)
    result = EpisodeResult(episode_id, "env_error", "", None, Totals())
    reward: float | None = None
    results: list[TestResult] = []
    reporter.stage("sandbox", env.image_tag)
    try:
        with ExitStack() as stack:
            sandbox = stack.enter_context(
                sandbox_session(
                    env.image_tag, sandbox_config(settings, limits, str(episode_id)), str(episode_id)
                )
            )
            install_runners(sandbox)
            if task is not None:
                prepare_task(sandbox, task.bug_patch)
            toolbox = ToolBox(sandbox, limits, tests)
            statement = task.problem_statement if task is not None else None
            prompt = task_prompt(
                env.snapshot.name, env.python_version or "", " ".join(env.test_command), statement
            )
            result = run_loop(
                episode_id, policy, sandbox, toolbox, store, limits, system_prompt(), prompt, seed, reporter
            )
        if task is not None and result.exit_status != "env_error":
            reporter.stage("evaluate", f"task {task.id}")
            with sandbox_session(
                env.image_tag, sandbox_config(settings, limits, f"{episode_id}-eval"), f"{episode_id}-eval"
            ) as judge:
                install_runners(judge)
                ev = evaluate_in(
                    judge,
                    tests,
                    task.bug_patch,
                    task.fix_patch,
                    list(task.fail_to_pass),
                    list(task.pass_to_pass),
                    result.final_patch,
                )
            reward, results = ev.reward, ev.results
    except TaskSetupError as exc:
        result.exit_status, result.detail = "env_error", str(exc)
    except ForagerError as exc:
        if result.exit_status != "env_error" or not result.detail:
            result.exit_status, result.detail = "env_error", f"{type(exc).__name__}: {exc}"
    finally:
        close = getattr(policy, "close", None)
        if close:
            close()
        store.finish(
            episode_id,
            result.exit_status,
            result.detail or None,
            result.final_patch,
            reward,
            results,
            result.totals,
        )
    return store.trajectory(episode_id)
