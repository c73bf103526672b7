"""`forager traces ...`: collect execution traces from an environment's tests; read them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from forager.cli.common import console, out, run_guarded
from forager.cli.progress import RichReporter
from forager.config import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command("collect")
def collect(
    env_id: int,
    tests: Annotated[
        list[str] | None,
        typer.Option("--tests", help="a test id or path to run (repeat the option); default: the suite"),
    ] = None,
    max_per_function: Annotated[int, typer.Option(help="traces kept per function", min=1)] = 20,
    max_traces: Annotated[int, typer.Option(help="traces kept per environment", min=1)] = 5000,
    step_in: Annotated[bool, typer.Option(help="also record the callees of a traced call")] = False,
    max_depth: Annotated[int, typer.Option(help="callee depth recorded with --step-in", min=0)] = 3,
    measure_overhead: Annotated[
        bool, typer.Option("--measure-overhead", help="also run the tests untraced, for the slowdown")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run an environment's tests with the tracer; store function-level traces (CWM's format).

    Exits with 1 when a test's outcome differs from the environment's baseline (its traces are
    not stored), 2 on errors.
    """
    from forager.traces.collect import DEFAULT_CONFIG, CollectOptions, collect_traces

    settings = get_settings()
    config = replace(
        DEFAULT_CONFIG, max_traces_per_target=max_per_function, step_in=step_in, max_depth=max_depth
    )
    options = CollectOptions(max_traces=max_traces, measure_untraced=measure_overhead)
    with RichReporter(console, f"traces env {env_id}") as rep:
        report = run_guarded(lambda: collect_traces(env_id, settings, tests, config, rep, options))
    if as_json:
        print(report.model_dump_json())
    else:
        t = Table(
            title=f"Traces of environment {env_id}",
            caption=f"Python {report.python}, {report.backend}",
            show_header=False,
        )
        t.add_column("what")
        t.add_column("value", justify="right")
        rows = [
            ("tests run / traced", f"{report.tests_run} / {report.tests_traced}"),
            ("outcome changes", str(len(report.outcome_changes))),
            ("traces stored", str(report.traces_collected)),
            ("functions", str(report.functions)),
            ("bytes", f"{report.bytes:,}"),
            ("functions at their cap", str(report.functions_capped)),
            ("traced suite s", _seconds(report.traced_seconds)),
            ("untraced suite s", _seconds(report.untraced_seconds)),
            ("slowdown", f"{report.slowdown:.2f}x" if report.slowdown else "-"),
        ]
        rows += [(f"dropped: {k}", str(v)) for k, v in report.dropped_by_reason.items()]
        for name, value in rows:
            t.add_row(name, value)
        out.print(t)
        for change in report.outcome_changes[:20]:
            out.print(
                Text.assemble(
                    ("changed ", "yellow"), f"{change.test_id}: {change.baseline} -> {change.traced}"
                )
            )
        for path in report.repo_changes[:20]:
            out.print(Text.assemble(("repository file changed by the run: ", "yellow"), path))
    if report.outcome_changes:
        raise typer.Exit(1)


@app.command("list")
def list_(
    env_id: int,
    function: Annotated[str | None, typer.Option(help="module.qualname")] = None,
    limit: int = 50,
    offset: int = 0,
) -> None:
    """Stored traces of an environment."""
    from forager.traces.store import TraceStore

    rows = run_guarded(lambda: TraceStore(get_settings().db_url).list(env_id, function, limit, offset))
    t = Table(title=f"Traces of environment {env_id} ({len(rows)} shown)")
    for col in ("id", "function", "file:line", "test", "status", "events", "bytes"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r.id),
            Text(r.function),
            Text(f"{r.file}:{r.first_line}"),
            Text(r.test_id),
            r.status + (f"/{r.outcome}" if r.outcome else ""),
            str(r.events),
            str(r.bytes),
        )
    out.print(t)


@app.command("show")
def show(
    trace_id: int,
    cwm: Annotated[bool, typer.Option("--cwm", help="print CWM's token format, as trained on")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the recorded trace JSON")] = False,
) -> None:
    """One trace: its events, or the CWM-format text (--cwm)."""
    from forager.traces.store import TraceStore, load, render_row

    row = run_guarded(lambda: TraceStore(get_settings().db_url).get(trace_id))
    if cwm:
        print(run_guarded(lambda: render_row(row)))
        return
    if as_json:
        print(row.trace)
        return
    trace = run_guarded(lambda: load(row))
    out.print(
        Text.assemble(
            (f"trace {row.id} ", "bold"),
            f"{row.function} ({row.file}:{row.first_line}) env {row.environment_id}, "
            f"test {row.test_id}: {row.status}, {row.events} events, {row.bytes} bytes",
        )
    )
    t = Table()
    for col in ("kind", "depth", "line", "source", "locals / value"):
        t.add_column(col, overflow="fold")
    for event in trace.events:
        payload = json.dumps(event.locals) if event.locals is not None else str(event.value)
        t.add_row(event.kind, str(event.depth), str(event.line), Text(event.source), Text(payload))
    out.print(t)


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"
