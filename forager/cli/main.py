"""The `forager` command line."""

from __future__ import annotations

import typer

from forager.cli import (
    api_cmd,
    env_cmd,
    episode_cmd,
    export_cmd,
    harvest_cmd,
    images_cmd,
    tasks_cmd,
    traces_cmd,
)
from forager.cli.common import console, run_guarded
from forager.config import get_settings

app = typer.Typer(
    help="Forager: verified Docker environments, tasks and agent trajectories from repositories.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(env_cmd.app, name="env", help="Build, list and show environments.")
app.add_typer(images_cmd.app, name="images", help="Base images (built without a registry).")
app.add_typer(tasks_cmd.app, name="tasks", help="Generate and read bug-fixing tasks.")
app.add_typer(episode_cmd.app, name="episode", help="Run policies in environments; read trajectories.")

app.command("harvest")(harvest_cmd.harvest)
app.add_typer(export_cmd.app, name="export", help="Training shards from the store.")
app.add_typer(traces_cmd.app, name="traces", help="Execution traces in CWM's format.")
app.add_typer(api_cmd.app, name="api", help="The REST API: serve it, manage its keys.")

db_app = typer.Typer(help="The store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the store's migrations (the API and workers do this at start too)."""
    from forager.store.db import migrate, table_names

    settings = get_settings()
    run_guarded(lambda: migrate(settings.db_url))
    console.print(f"store ready: {', '.join(table_names(settings.db_url))}")


if __name__ == "__main__":
    app()
