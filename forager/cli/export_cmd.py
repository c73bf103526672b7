"""`forager export ...`: write the store's finished episodes as training shards, show a manifest."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from forager.cli.common import console, out, run_guarded
from forager.config import get_settings

if TYPE_CHECKING:
    from model.export import ExportManifest, ExportProgress

# model.export (pyarrow, numpy, psycopg) is imported inside the commands: `forager --help`
# and the other commands do not pay for it.
app = typer.Typer(no_args_is_help=True)


class ShardFormatChoice(str, Enum):
    """model.export.options.ShardFormat, as typer's choices."""

    parquet = "parquet"
    jsonl_zst = "jsonl.zst"


FormatsOption = Annotated[
    list[ShardFormatChoice] | None,
    typer.Option("--format", help="parquet and/or jsonl.zst, repeatable (default: parquet)"),
]


def _given(**values: object) -> dict[str, object]:
    """The options given on the command line: the rest keep the export's own defaults."""
    return {name: value for name, value in values.items() if value is not None}


def _format_values(formats: list[ShardFormatChoice] | None) -> list[str] | None:
    return [f.value for f in formats] if formats else None


class RichExportProgress:
    """Implements model.export.ProgressSink on a rich progress line."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("exporting", total=None)

    def update(self, p: ExportProgress) -> None:
        dropped = sum(p.dropped.values())
        rate = p.steps_read / p.elapsed_s if p.elapsed_s > 0 else 0.0
        self.progress.update(
            self.task,
            description=(
                f"episodes {p.considered} read, {p.exported} exported, {dropped} dropped · "
                f"steps {p.steps_read} ({rate:,.0f}/s) · last id {p.last_episode_id}"
            ),
        )


@app.command("run")
def run(
    out_dir: Annotated[Path, typer.Option("--out", help="output folder (one dataset; exports accumulate)")],
    min_steps: Annotated[int, typer.Option(min=0, help="drop episodes with fewer steps")] = 1,
    exit_status: Annotated[
        list[str] | None, typer.Option("--exit-status", help="keep only these exit statuses (repeatable)")
    ] = None,
    policy_kind: Annotated[
        list[str] | None, typer.Option("--policy-kind", help="keep only these policy kinds (repeatable)")
    ] = None,
    only_successful: Annotated[bool, typer.Option(help="keep only episodes with reward > 0")] = False,
    dedup: Annotated[bool, typer.Option(help="near-dedup within each repository")] = True,
    dedup_threshold: Annotated[float, typer.Option(min=0.01, max=1.0, help="Jaccard threshold")] = 0.5,
    decontaminate: Annotated[bool, typer.Option(help="exclude SWE-bench's repositories (and forks)")] = True,
    decontamination_file: Annotated[
        Path | None, typer.Option("--exclude-repos", help="file of more repositories to exclude")
    ] = None,
    validation_fraction: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    split_seed: Annotated[int, typer.Option()] = 0,
    mask_observations: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="seeded share of observations with loss=false")
    ] = 0.5,
    mask_seed: Annotated[int, typer.Option()] = 0,
    formats: FormatsOption = None,
    shard_documents: Annotated[int, typer.Option(min=1, help="documents per shard")] = 20_000,
    zstd_level: Annotated[
        int | None, typer.Option(min=1, max=22, help="zstd level of the shards (default: the export's)")
    ] = None,
    max_episodes: Annotated[
        int | None, typer.Option(min=1, help="export at most this many new episodes this run")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
) -> None:
    """Export finished episodes past the folder's watermark (incremental) as Parquet (and JSONL.zst)."""
    from model.export import ExportOptions, run_export

    settings = get_settings()
    try:
        options = ExportOptions(
            min_steps=min_steps,
            exit_statuses=exit_status or None,
            policy_kinds=policy_kind or None,
            only_successful=only_successful,
            dedup=dedup,
            dedup_threshold=dedup_threshold,
            decontaminate=decontaminate,
            decontamination_file=decontamination_file,
            validation_fraction=validation_fraction,
            split_seed=split_seed,
            observation_mask_fraction=mask_observations,
            mask_seed=mask_seed,
            shard_max_documents=shard_documents,
            max_episodes=max_episodes,
            **_given(formats=_format_values(formats), zstd_level=zstd_level),
        )
    except ValidationError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        manifest = run_guarded(lambda: run_export(settings, out_dir, options, RichExportProgress(progress)))
    if as_json:
        out.print_json(manifest.model_dump_json())
        return
    if manifest.export_id is None:
        since = manifest.previous_watermark.last_id if manifest.previous_watermark else 0
        console.print(f"nothing new to export: no finished episode past id {since}")
        return
    _print_manifest(console, manifest, out_dir / "exports" / manifest.export_id)


@app.command("traces")
def traces(
    out_dir: Annotated[Path, typer.Option("--out", help="output folder (the episodes' dataset folder)")],
    limit: Annotated[int | None, typer.Option(min=1, help="export at most this many traces this run")] = None,
    validation_fraction: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    split_seed: Annotated[int, typer.Option()] = 0,
    formats: FormatsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
) -> None:
    """Export the stored execution traces (CWM's format) past the folder's last trace export."""
    from model.export.trace_source import export_store_traces
    from model.export.traces import TraceExportOptions

    settings = get_settings()
    options = TraceExportOptions(
        validation_fraction=validation_fraction,
        split_seed=split_seed,
        **_given(formats=_format_values(formats)),
    )
    with console.status("exporting traces"):
        manifest = run_guarded(lambda: export_store_traces(settings.db_url, out_dir, options, limit))
    if as_json:
        out.print_json(manifest.model_dump_json())
        return
    if manifest.export_id is None:
        console.print("nothing new to export: no complete trace past the last trace export")
        return
    _print_manifest(console, manifest, out_dir / "exports" / manifest.export_id)


@app.command("show")
def show(
    manifest_path: Annotated[Path, typer.Argument(help="a manifest.json or an export folder")],
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
) -> None:
    """Show an export's manifest: counts, filters, watermark, shards."""
    from model.export import read_manifest

    manifest = run_guarded(lambda: read_manifest(manifest_path))
    if as_json:
        out.print_json(manifest.model_dump_json())
        return
    folder = manifest_path if manifest_path.is_dir() else manifest_path.parent
    _print_manifest(out, manifest, folder)


def _print_manifest(target: Console, manifest: ExportManifest, folder: Path) -> None:
    c = manifest.counts
    head = Table(title=f"{manifest.kind} export {manifest.export_id}  ({folder})", show_header=False)
    head.add_column("field", style="bold")
    head.add_column("value")
    head.add_row("created", f"{manifest.created_at:%Y-%m-%d %H:%M:%S} UTC in {manifest.duration_s:.1f} s")
    head.add_row("forager", manifest.forager_version)
    if manifest.store:
        head.add_row("store", manifest.store)
    if manifest.watermark is not None:
        prev = manifest.previous_watermark.last_id if manifest.previous_watermark else 0
        pending = f", {len(manifest.watermark.pending)} pending" if manifest.watermark.pending else ""
        head.add_row("watermark", f"ids {prev} → {manifest.watermark.last_id}{pending}")
    head.add_row("documents", f"{c.exported} of {c.considered} read ({c.repositories} repositories)")
    head.add_row("by split", ", ".join(f"{k} {v}" for k, v in c.by_split.items()) or "-")
    head.add_row("steps", f"{c.steps_exported} exported of {c.steps_read} read; {c.messages} messages")
    head.add_row("dropped", ", ".join(f"{k} {v}" for k, v in c.dropped.items()) or "none")
    opts = manifest.options
    if manifest.kind == "episodes":
        filters = [
            f"min_steps={opts.get('min_steps')}",
            f"exit_statuses={opts.get('exit_statuses') or 'all'}",
            f"policy_kinds={opts.get('policy_kinds') or 'all'}",
            f"dedup={opts.get('dedup')}@{opts.get('dedup_threshold')}",
            f"decontaminate={opts.get('decontaminate')} "
            f"({len(opts.get('decontamination_repos') or [])} repositories)",
            f"validation={opts.get('validation_fraction')}",
            f"observation mask={opts.get('observation_mask_fraction')}",
        ]
        head.add_row("options", ", ".join(filters))
    target.print(head)
    shards = Table(title="shards")
    for col in ("file", "split", "documents", "steps", "MB", "sha256"):
        shards.add_column(col, justify="right" if col in ("documents", "steps", "MB") else "left")
    for s in manifest.shards:
        shards.add_row(s.path, s.split, str(s.documents), str(s.steps), f"{s.bytes / 1e6:.2f}", s.sha256[:16])
    target.print(shards)
