"""`forager harvest`: the whole pipeline for sources, in this process, with a summary."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from forager.cli.common import console, out
from forager.cli.progress import RichReporter
from forager.config import get_settings
from forager.errors import ForagerError


def harvest(
    sources: Annotated[list[str], typer.Argument(help="git URL, local path, or pypi:NAME==VERSION")],
    ref: Annotated[str | None, typer.Option(help="branch, tag or commit (git sources)")] = None,
    max_tasks: Annotated[int, typer.Option(help="tasks per environment")] = 20,
    episodes_per_task: Annotated[int, typer.Option(help="explorer episodes per task")] = 1,
    max_task_episodes: Annotated[int, typer.Option(help="tasks that get episodes")] = 5,
    explore_episodes: Annotated[int, typer.Option(help="episodes with no task")] = 1,
    max_steps: Annotated[int, typer.Option(help="step limit per episode")] = 30,
    traces: Annotated[bool, typer.Option(help="also collect execution traces of the test suite")] = False,
    max_traces: Annotated[int, typer.Option(help="traces kept per environment")] = 2000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ingest, build, generate tasks and run explorer episodes; every step is stored."""
    from forager.pipeline.embedded import HarvestSummary, harvest
    from forager.pipeline.options import HarvestOptions

    settings = get_settings()
    options = HarvestOptions(
        max_tasks=max_tasks,
        episodes_per_task=episodes_per_task,
        max_task_episodes=max_task_episodes,
        explore_episodes=explore_episodes,
        max_steps=max_steps,
        traces=traces,
        max_traces=max_traces,
    )
    results: list[tuple[str, HarvestSummary | None, str | None]] = []
    for source in sources:
        try:
            with RichReporter(console, source) as rep:
                results.append((source, harvest(source, settings, options, ref, rep), None))
        except ForagerError as exc:
            console.print(f"[bold red]error:[/] {source}: {exc}")
            results.append((source, None, str(exc)))
    if as_json:
        for source, s, err in results:
            print(
                s.model_dump_json() if s else json.dumps({"source": source, "status": "error", "error": err})
            )
    else:
        t = Table(title="Harvest")
        for col in (
            "source",
            "status",
            "env",
            "tests passed",
            "added MB",
            "tasks",
            "episodes",
            "steps",
            "traces",
            "note",
        ):
            t.add_column(col)
        for source, s, err in results:
            if s is None:
                t.add_row(source, "[red]error[/]", "", "", "", "", "", "", "", (err or "")[:60])
                continue
            env = s.environment
            t.add_row(
                source,
                s.status,
                str(env.id) if env else "",
                str(env.tests_passed) if env else "",
                str(env.added_size_mb) if env else "",
                ", ".join(f"{k} {v}" for k, v in sorted(s.tasks_by_family.items())) or "0",
                ", ".join(f"{k} {v}" for k, v in sorted(s.episodes_by_exit.items())) or "0",
                str(s.steps),
                str(s.traces),
                (s.error or (env.reason if env else "") or "")[:60],
            )
        out.print(t)
    if all(s is None for _, s, _ in results):
        raise typer.Exit(2)
