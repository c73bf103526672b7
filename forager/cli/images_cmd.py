"""`forager images ...`: base images built with debootstrap (no registry needed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from forager.cli.common import console, out, run_guarded
from forager.cli.progress import RichReporter
from forager.config import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command("bootstrap")
def bootstrap(
    suites: Annotated[list[str] | None, typer.Argument(help="Debian suites (default: bookworm)")] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if the image exists")] = False,
) -> None:
    """Build base images from Debian suites with debootstrap + docker import."""
    from forager.build.base_images import bootstrap_base

    settings = get_settings()
    for suite in suites or ["bookworm"]:
        with RichReporter(console, f"base {suite}") as rep:
            tag = run_guarded(lambda s=suite, r=rep: bootstrap_base(s, settings, r, force=force))  # type: ignore[misc]
        console.print(f"[green]ready[/] {tag}")


@app.command("list")
def list_() -> None:
    """Configured base images and whether each is present."""
    from forager.dockerhost import image_size

    settings = get_settings()
    t = Table(title="Base images")
    for col in ("python", "image", "present", "size MB"):
        t.add_column(col)
    for py, ref in sorted(settings.base_images.items()):
        size = run_guarded(lambda r=ref: image_size(r))  # type: ignore[misc]
        t.add_row(py, ref, "yes" if size else "no", f"{size / 2**20:.0f}" if size else "")
    out.print(t)
