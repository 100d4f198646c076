"""`todosync tenants`: create, list, disable and enable the tenants one todosync serves."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from todosync.cli.common import handle_errors, run_in_transaction

__all__ = ["app"]

app = typer.Typer(
    help="Tenants: each with its own data, tokens and connection.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The tenant's name.", show_default=False)]


@app.command("create")
@handle_errors
def create(name: NameArgument) -> None:
    """Create a tenant (an existing name is an error); `tokens create --tenant` gives it a
    token."""
    from todosync.tenancy import service

    tenant_id = run_in_transaction(lambda s: service.create_tenant(s, name=name))
    typer.echo(f"tenant {name} created (id {tenant_id})", err=True)


@app.command("list")
@handle_errors
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List tenants: id, name, live tokens, connections, created, disabled."""
    from todosync.tenancy import service

    found = run_in_transaction(service.list_tenants)
    if as_json:
        typer.echo(json.dumps({"data": [t.as_json() for t in found]}, ensure_ascii=False))
        return
    for t in found:
        state = f"disabled {t.disabled_at:%Y-%m-%d %H:%M}" if t.disabled_at else "enabled"
        typer.echo(
            f"{t.id}\t{t.name}\t{t.live_tokens} token(s)\t{t.connections} connection(s)\t"
            f"created {t.created_at:%Y-%m-%d %H:%M}\t{state}"
        )


@app.command("disable")
@handle_errors
def disable(name: NameArgument) -> None:
    """Disable a tenant: its tokens stop working (a running `serve` may accept them for
    TODOSYNC_TOKEN_CACHE_SECONDS more), its connection stops syncing, its data stays."""
    from todosync.tenancy import service

    changed = run_in_transaction(lambda s: service.disable_tenant(s, name=name))
    typer.echo(f"tenant {name} {'disabled' if changed else 'was already disabled'}", err=True)


@app.command("enable")
@handle_errors
def enable(name: NameArgument) -> None:
    """Enable a disabled tenant again: its tokens work and its connection syncs."""
    from todosync.tenancy import service

    changed = run_in_transaction(lambda s: service.enable_tenant(s, name=name))
    typer.echo(f"tenant {name} {'enabled' if changed else 'was not disabled'}", err=True)
