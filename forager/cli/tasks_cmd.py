"""`forager tasks ...`: generate, list and show bug-fixing tasks."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from forager.cli.common import console, out, run_guarded
from forager.cli.progress import RichReporter
from forager.config import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command("generate")
def generate(
    env_id: int,
    max_tasks: Annotated[int, typer.Option("--max", help="stop after this many tasks")] = 100,
    families: Annotated[str | None, typer.Option(help="comma-separated mutation families")] = None,
    max_candidates: Annotated[int, typer.Option(help="candidates proven at most")] = 400,
    history: Annotated[bool, typer.Option(help="also issue-fix tasks from the git history")] = True,
    seed: int = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate mutate-fix (and issue-fix) tasks; each is proven by its tests before it is stored."""
    from forager.tasks.generate import GenerateOptions, generate_tasks
    from forager.tasks.history import HistoryOptions, generate_history_tasks

    settings = get_settings()
    fams = [f.strip() for f in families.split(",")] if families else None
    options = GenerateOptions(max_tasks=max_tasks, families=fams, max_candidates=max_candidates, seed=seed)
    with RichReporter(console, f"tasks env {env_id}") as rep:
        report = run_guarded(lambda: generate_tasks(env_id, settings, options, rep))
        hist = (
            run_guarded(lambda: generate_history_tasks(env_id, settings, HistoryOptions(), rep))
            if history
            else None
        )
    if as_json:
        data = json.loads(report.model_dump_json())
        data["issue_fix"] = json.loads(hist.model_dump_json()) if hist else None
        print(json.dumps(data))
        return
    t = Table(title=f"Tasks for environment {env_id}")
    t.add_column("family")
    t.add_column("valid", justify="right")
    for fam, n in sorted(report.valid_by_family.items()):
        t.add_row(fam, str(n))
    if hist is not None:
        t.add_row("revert_commit", str(len(hist.task_ids)))
    out.print(t)
    out.print(
        f"{report.candidates_tried} candidates tried of {report.candidates_enumerated} enumerated over "
        f"{report.functions_covered} covered functions in {report.seconds:.0f}s; dropped: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.dropped_by_reason.items()))
    )


@app.command("list")
def list_(
    env: Annotated[int | None, typer.Option(help="environment id")] = None,
    family: str | None = None,
    limit: int = 50,
) -> None:
    """Tasks in the store."""
    from forager.store.tasks import TaskStore

    rows = run_guarded(
        lambda: TaskStore(get_settings().db_url).list(environment_id=env, family=family, limit=limit)
    )
    t = Table(title=f"Tasks ({len(rows)})")
    for col in ("id", "env", "kind", "family", "target", "f2p", "p2p"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r.id),
            str(r.environment_id),
            r.kind,
            r.family,
            f"{r.target_file}:{r.target_symbol}",
            str(len(r.fail_to_pass)),
            str(len(r.pass_to_pass)),
        )
    out.print(t)


@app.command("show")
def show(task_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One task: statement, bug patch, tests."""
    from forager.store.tasks import TaskStore

    r = run_guarded(lambda: TaskStore(get_settings().db_url).get(task_id))
    data = {c.name: getattr(r, c.name) for c in r.__table__.columns}
    if as_json:
        print(json.dumps(data, default=str))
        return
    out.print(
        f"[bold]task {r.id}[/] ({r.kind}/{r.family}) env {r.environment_id}: "
        f"{r.target_file} {r.target_symbol or ''}"
    )
    out.print(r.problem_statement, markup=False)
    out.rule("bug patch")
    out.print(r.bug_patch, markup=False, highlight=False)
    out.print(f"fail-to-pass: {r.fail_to_pass}", markup=False)
    out.print(f"pass-to-pass: {len(r.pass_to_pass)} tests", markup=False)
