"""`forager env ...`: build, list and show environments."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forager.cli.common import console, out, run_guarded
from forager.cli.progress import RichReporter
from forager.config import get_settings
from forager.envs.models import EnvironmentSummary
from forager.errors import ForagerError

app = typer.Typer(no_args_is_help=True)


def read_corpus(path: Path) -> list[str]:
    """Source specs from a file: one per line, `#` comments and blanks ignored."""
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln]


@app.command("build")
def build(
    sources: Annotated[
        list[str] | None, typer.Argument(help="git URL, local path, or pypi:NAME==VERSION")
    ] = None,
    ref: Annotated[str | None, typer.Option(help="branch, tag or commit (git sources)")] = None,
    corpus: Annotated[Path | None, typer.Option(help="file with one source spec per line")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary as JSON (one object per source)")
    ] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="print the whole build log")] = False,
    rebuild: Annotated[bool, typer.Option(help="build again even if a verified environment exists")] = False,
) -> None:
    """Turn sources into verified Docker images; ends with a summary."""
    from forager.envs.harvest import build_from_source

    settings = get_settings()
    specs = list(sources or []) + (read_corpus(corpus) if corpus else [])
    if not specs:
        console.print("[red]error:[/] give at least one SOURCE or --corpus FILE")
        raise typer.Exit(2)
    rows: list[tuple[str, EnvironmentSummary | None, str | None, float]] = []
    for spec in specs:
        t0 = time.monotonic()
        try:
            with RichReporter(console, spec, verbose=verbose) as rep:
                summary = build_from_source(spec, settings, ref=ref, reporter=rep, rebuild=rebuild)
            rows.append((spec, summary, None, time.monotonic() - t0))
            if as_json:
                out.print_json(summary.model_dump_json()) if len(specs) == 1 else print(
                    summary.model_dump_json()
                )
        except ForagerError as exc:
            rows.append((spec, None, str(exc), time.monotonic() - t0))
            console.print(f"[bold red]error:[/] {spec}: {exc}")
            if as_json:
                print(
                    json.dumps(
                        {
                            "source": spec,
                            "status": "error",
                            "reason": str(exc),
                            "attempts": 0,
                            "tests_passed": 0,
                            "tests_failed": 0,
                            "image_size_mb": None,
                        }
                    )
                )
    if not as_json:
        console.print(_summary_table(rows))
        if len(rows) == 1 and rows[0][1] is not None:
            _print_details(rows[0][1])
    if len(specs) == 1 and rows[0][1] is None:
        raise typer.Exit(2)


def _summary_table(rows: list[tuple[str, EnvironmentSummary | None, str | None, float]]) -> Table:
    t = Table(title="Environments", show_lines=False)
    for col, kw in [
        ("id", {"justify": "right"}),
        ("source", {}),
        ("status", {}),
        ("python", {}),
        ("passed", {"justify": "right"}),
        ("failed", {"justify": "right"}),
        ("flaky", {"justify": "right"}),
        ("added MB", {"justify": "right"}),
        ("attempts", {"justify": "right"}),
        ("time s", {"justify": "right"}),
        ("reason", {}),
    ]:
        t.add_column(col, **kw)  # type: ignore[arg-type]
    for spec, s, err, secs in rows:
        if s is None:
            t.add_row("-", spec, "[red]error[/]", "", "", "", "", "", "0", f"{secs:.0f}", (err or "")[:80])
            continue
        color = "green" if s.status == "verified" else "red"
        t.add_row(
            str(s.id),
            spec,
            f"[{color}]{s.status}[/]",
            s.python or "",
            str(s.tests_passed),
            str(s.tests_failed),
            str(s.tests_flaky),
            f"{s.added_size_mb:.1f}" if s.added_size_mb is not None else "",
            str(s.attempts),
            f"{secs:.0f}",
            (s.reason or "")[:80],
        )
    return t


def _print_details(s: EnvironmentSummary) -> None:
    console.print(
        f"[bold]image[/] {s.image_tag or '-'}  [bold]base[/] {s.base_image}  "
        f"[bold]size[/] {s.image_size_mb} MB (+{s.added_size_mb} MB)"
    )
    console.print("[bold]install steps[/]")
    for step in s.install_steps:
        console.print(f"  $ {step}")
    console.print(f"[bold]test command[/] {' '.join(s.test_command)}")
    for a in s.attempt_log:
        console.print(
            f"  attempt {a.index} \\[{a.strategy}, Python {a.python}]: {a.status}"
            + (f" — {a.reason}" if a.reason else "")
        )


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="verified | failed | building")] = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Environments in the store, newest first."""
    from forager.store.environments import EnvironmentStore

    settings = get_settings()
    envs = run_guarded(lambda: EnvironmentStore(settings.db_url).list(status=status, limit=limit))
    summaries = [EnvironmentSummary.from_row(e) for e in envs]
    if as_json:
        print(json.dumps([json.loads(s.model_dump_json(exclude={"attempt_log"})) for s in summaries]))
        return
    t = Table(title=f"Environments ({len(summaries)})")
    for col in (
        "id",
        "name",
        "commit",
        "status",
        "python",
        "passed",
        "failed",
        "flaky",
        "added MB",
        "attempts",
    ):
        t.add_column(col)
    for s in summaries:
        t.add_row(
            str(s.id),
            s.name,
            s.commit_sha[:12],
            s.status,
            s.python or "",
            str(s.tests_passed),
            str(s.tests_failed),
            str(s.tests_flaky),
            str(s.added_size_mb or ""),
            str(s.attempts),
        )
    out.print(t)


@app.command("show")
def show(
    env_id: int,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    tests: Annotated[bool, typer.Option(help="list the per-test baseline")] = False,
    logs: Annotated[bool, typer.Option(help="print each attempt's build log tail")] = False,
) -> None:
    """One environment with its attempts (and optionally its test baseline)."""
    from forager.store.environments import EnvironmentStore

    store = EnvironmentStore(get_settings().db_url)
    env = run_guarded(lambda: store.get(env_id))
    s = EnvironmentSummary.from_row(env)
    if as_json:
        data = json.loads(s.model_dump_json())
        if tests:
            data["tests"] = [
                {"id": t.test_id, "outcome": t.outcome, "duration_s": t.duration_s, "flaky": t.flaky}
                for t in store.test_results(env_id)
            ]
        print(json.dumps(data, indent=2))
        return
    out.print(
        f"[bold]environment {s.id}[/] {s.source} @ {s.commit_sha[:12]}: "
        f"[{'green' if s.status == 'verified' else 'red'}]{s.status}[/]"
        + (f" — {s.reason}" if s.reason else "")
    )
    out.print(
        f"tests: {s.tests_collected} collected, {s.tests_passed} passed, {s.tests_failed} failed, "
        f"{s.tests_error} errors, {s.tests_skipped} skipped, {s.tests_flaky} flaky"
    )
    _print_details(s)
    if logs:
        for a in env.attempts:
            out.rule(f"attempt {a.index}: {a.strategy}")
            out.print("\n".join(a.build_log.splitlines()[-40:]), markup=False, highlight=False)
    if tests:
        for t in store.test_results(env_id):
            out.print(
                f"{t.outcome:8} {'flaky ' if t.flaky else ''}{t.test_id}", markup=False, highlight=False
            )
