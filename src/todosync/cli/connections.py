"""`todosync connections` and `todosync secrets`: each tenant's link to its own external API
account, and the key its token is kept encrypted with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from todosync.cli.common import handle_errors, load_settings, read_secret, run_in_transaction

__all__ = ["app", "secrets_app"]

app = typer.Typer(
    help="Connections: each tenant's link to its own external API account.",
    no_args_is_help=True,
)
secrets_app = typer.Typer(
    help="The key that external API tokens are encrypted with (TODOSYNC_SECRET_KEY).",
    no_args_is_help=True,
)

IdArgument = Annotated[
    int, typer.Argument(metavar="ID", help="The connection's id (`connections list`).")
]
TokenFileOption = Annotated[
    Path,
    typer.Option(
        "--token-file",
        help="Read the external API token from this file ('-': standard input); an empty "
        "file: no token is sent.",
        show_default=False,
    ),
]


@app.command("create")
@handle_errors
def create(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's name.", show_default=False)],
    url: Annotated[
        str, typer.Option("--url", help="The external API's base URL.", show_default=False)
    ],
    token_file: TokenFileOption,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            min=0,
            help="Seconds between periodic runs (0: none); default TODOSYNC_SYNC_INTERVAL_SECONDS.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Connect a tenant to its external API account; prints the connection's id. The token
    is stored encrypted with TODOSYNC_SECRET_KEY (required)."""
    from todosync.tenancy import connections
    from todosync.tenancy.secrets import SecretBox

    box = SecretBox.from_settings(load_settings())  # no key: refused before anything is read
    token = SecretStr(read_secret(token_file))
    connection_id = run_in_transaction(
        lambda s: connections.create_connection(
            s, box=box, tenant=tenant, url=url, token=token, interval_s=interval
        )
    )
    typer.echo(connection_id)


@app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """List connections: id, tenant, URL, token set or not, interval, state (never a token)."""
    from todosync.tenancy import connections

    found = run_in_transaction(connections.list_connections)
    if as_json:
        typer.echo(json.dumps({"data": [c.as_json() for c in found]}, ensure_ascii=False))
        return
    for c in found:
        url = c.url or "(TODOSYNC_EXTERNAL_API_URL)"
        token = "(TODOSYNC_EXTERNAL_API_TOKEN)" if c.url is None else "token set"
        token = token if c.has_token or c.url is None else "no token"
        interval = "default interval" if c.interval_s is None else f"every {c.interval_s:g} s"
        state = f"disabled {c.disabled_at:%Y-%m-%d %H:%M}" if c.disabled_at else "enabled"
        typer.echo(f"{c.id}\t{c.tenant}\t{url}\t{token}\t{interval}\t{state}")


@app.command("disable")
@handle_errors
def disable(connection_id: IdArgument) -> None:
    """Stop syncing a connection: its queued runs fail, a running one finishes, no new run
    is queued; its data stays."""
    from todosync.tenancy import connections

    changed = run_in_transaction(
        lambda s: connections.disable_connection(s, connection_id=connection_id)
    )
    typer.echo(
        f"connection {connection_id} {'disabled' if changed else 'was already disabled'}",
        err=True,
    )


@app.command("enable")
@handle_errors
def enable(connection_id: IdArgument) -> None:
    """Sync a disabled connection again."""
    from todosync.tenancy import connections

    changed = run_in_transaction(
        lambda s: connections.enable_connection(s, connection_id=connection_id)
    )
    typer.echo(
        f"connection {connection_id} {'enabled' if changed else 'was not disabled'}", err=True
    )


@app.command("set-token")
@handle_errors
def set_token(connection_id: IdArgument, token_file: TokenFileOption) -> None:
    """Replace a connection's external API token (stored encrypted); the next run uses it."""
    from todosync.tenancy import connections
    from todosync.tenancy.secrets import SecretBox

    box = SecretBox.from_settings(load_settings())
    token = SecretStr(read_secret(token_file))
    run_in_transaction(
        lambda s: connections.set_token(s, box=box, connection_id=connection_id, token=token)
    )
    typer.echo(f"connection {connection_id}: token replaced", err=True)


@secrets_app.command("new-key")
def new_key() -> None:
    """Print a new random key for TODOSYNC_SECRET_KEY (put it first to rotate)."""
    from todosync.tenancy.secrets import new_key as make_key

    typer.echo(make_key())


@secrets_app.command("rotate")
@handle_errors
def rotate() -> None:
    """Encrypt every stored token again with the first key of TODOSYNC_SECRET_KEY; the
    older keys may then be removed."""
    from todosync.tenancy import connections
    from todosync.tenancy.secrets import SecretBox

    box = SecretBox.from_settings(load_settings())
    count = run_in_transaction(lambda s: connections.rotate_tokens(s, box=box))
    typer.echo(f"{count} token(s) encrypted with the first key", err=True)
