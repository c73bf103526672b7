"""`forager episode ...`: run a policy in an environment, list and export trajectories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forager.cli.common import console, out, run_guarded
from forager.cli.progress import RichReporter
from forager.config import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run(
    env_id: int,
    policy: Annotated[str, typer.Option(help="explorer | openai | replay")] = "explorer",
    task: Annotated[int | None, typer.Option(help="task id (else: explore the repository)")] = None,
    seed: int = 0,
    max_steps: Annotated[int, typer.Option(help="step limit")] = 50,
    max_wall_s: Annotated[float, typer.Option(help="wall-time limit of the episode")] = 1800.0,
    base_url: Annotated[str | None, typer.Option(help="openai: chat-completions endpoint")] = None,
    model: Annotated[str | None, typer.Option(help="openai: served model name")] = None,
    actions: Annotated[Path | None, typer.Option(help="replay: JSON list of {tool, args}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the trajectory as JSON")] = False,
) -> None:
    """Run one episode; every step is stored as it happens."""
    from forager.agent.episode import run_episode
    from forager.agent.models import Action, Limits
    from forager.agent.policies import ExplorerPolicyConfig, OpenAIPolicyConfig, ReplayPolicyConfig

    settings = get_settings()
    config: OpenAIPolicyConfig | ExplorerPolicyConfig | ReplayPolicyConfig
    if policy == "explorer":
        config = ExplorerPolicyConfig()
    elif policy == "openai":
        config = OpenAIPolicyConfig(**{k: v for k, v in {"base_url": base_url, "model": model}.items() if v})
    elif policy == "replay":
        if actions is None:
            console.print("[red]error:[/] --policy replay needs --actions FILE")
            raise typer.Exit(2)
        config = ReplayPolicyConfig(actions=[Action(**a) for a in json.loads(actions.read_text())])
    else:
        console.print(f"[red]error:[/] unknown policy {policy!r}: explorer, openai or replay")
        raise typer.Exit(2)
    limits = Limits(max_steps=max_steps, max_wall_s=max_wall_s)
    with RichReporter(console, f"episode env {env_id}") as rep:
        traj = run_guarded(
            lambda: run_episode(
                env_id, settings, config, task_id=task, seed=seed, limits=limits, reporter=rep
            )
        )
    if as_json:
        print(traj.model_dump_json())
        return
    t = traj.totals
    console.print(
        f"episode {traj.episode_id}: [bold]{traj.exit_status}[/] after {t.steps} steps in {t.wall_s:.1f}s "
        f"(exec {t.exec_ms / 1000:.1f}s, llm {t.llm_ms / 1000:.1f}s, tokens "
        f"{t.prompt_tokens + t.completion_tokens}); reward {traj.reward}"
    )
    if traj.final_patch:
        console.print(f"final patch: {len(traj.final_patch.splitlines())} lines")


@app.command("show")
def show(
    episode_id: int, jsonl: Annotated[bool, typer.Option(help="the trajectory as one JSON line")] = False
) -> None:
    """One trajectory, step by step."""
    from forager.store.episodes import EpisodeStore

    traj = run_guarded(lambda: EpisodeStore(get_settings().db_url).trajectory(episode_id))
    if jsonl:
        print(traj.model_dump_json())
        return
    out.print(
        f"[bold]episode {traj.episode_id}[/] env {traj.environment_id} task {traj.task_id} "
        f"policy {traj.policy.kind}: {traj.status}/{traj.exit_status} reward {traj.reward}"
    )
    for st in traj.steps:
        action = (
            f"{st.action.tool} {json.dumps(st.action.args)[:120]}"
            if st.action
            else f"(format error) {st.error}"
        )
        out.print(f"[cyan]{st.index:3}[/] {action}", markup=True, highlight=False)
        out.print("     " + st.observation.text[:300].replace("\n", "\n     "), markup=False, highlight=False)


@app.command("list")
def list_(env: Annotated[int | None, typer.Option(help="environment id")] = None, limit: int = 50) -> None:
    """Episodes in the store, newest first."""
    from forager.store.episodes import EpisodeStore

    rows = run_guarded(lambda: EpisodeStore(get_settings().db_url).list(environment_id=env, limit=limit))
    t = Table(title=f"Episodes ({len(rows)})")
    for col in ("id", "env", "task", "policy", "status", "exit", "steps", "reward"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r.id),
            str(r.environment_id),
            str(r.task_id or ""),
            str(r.policy.get("kind")),
            r.status,
            r.exit_status or "",
            str((r.totals or {}).get("steps", "")),
            str(r.reward if r.reward is not None else ""),
        )
    out.print(t)
