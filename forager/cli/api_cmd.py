"""`forager api ...`: serve the REST API and manage its keys."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from forager.cli.common import console, out, run_guarded
from forager.config import get_settings

if TYPE_CHECKING:
    from api.keys import ApiKeyStore

app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(no_args_is_help=True)
app.add_typer(keys_app, name="keys", help="Create, list and revoke API keys (stored hashed).")


def _keys() -> ApiKeyStore:
    # Imported here: `forager --help` must not pay for importing the API.
    from api.keys import ApiKeyStore

    settings = get_settings()
    return ApiKeyStore(settings.db_url, settings.api_keys_pepper.get_secret_value())


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")],
    scopes: Annotated[str, typer.Option("--scopes", help="comma-separated: read, submit, admin")] = "read",
) -> None:
    """Make a key and print it once: only its hash is stored."""
    created = run_guarded(lambda: _keys().create(name, scopes))
    console.print(
        f"created key [bold]{created.prefix}[/] ({created.name}; scopes: {', '.join(created.scopes)}). "
        "Store it now: it cannot be shown again."
    )
    # The key alone on stdout, so `KEY=$(forager api keys create ...)` works.
    print(created.key)


@keys_app.command("list")
def list_keys() -> None:
    """Keys by prefix, with scopes and when they were last used (never the keys themselves)."""
    rows = run_guarded(lambda: _keys().list())
    table = Table("prefix", "name", "scopes", "created", "last used", "revoked")
    for r in rows:
        table.add_row(
            r.prefix,
            r.name,
            ",".join(r.scopes),
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "-",
            f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "-",
        )
    out.print(table)


@keys_app.command("revoke")
def revoke_key(
    prefix: Annotated[str, typer.Argument(help="the key's prefix, as `keys list` shows it")],
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    row = run_guarded(lambda: _keys().revoke(prefix))
    console.print(f"revoked key {row.prefix} ({row.name})")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level")] = "info",
    access_log: Annotated[
        bool, typer.Option(help="uvicorn's own access log (the API logs each request already)")
    ] = False,
) -> None:
    """Run the REST API with uvicorn."""
    import uvicorn

    # Read by every worker process the app starts in (uvicorn spawns them afresh).
    if not sys.stderr.isatty():
        os.environ.setdefault("FORAGER_API_LOG_FORMAT", "json")
    uvicorn.run(
        "api.app:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=True,
    )
