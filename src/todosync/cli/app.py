"""The `todosync` command line. Commands are thin: they parse options, build the settings,
call a service and translate its errors into one line on stderr and an exit code."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from todosync import config
from todosync.cli import common, connections, tenants
from todosync.cli.common import EXIT_ERROR, EXIT_USAGE, fail, handle_errors, load_settings

__all__ = ["app", "fail", "handle_errors", "main"]

app = typer.Typer(
    name="todosync",
    help="A Todo service in two-way sync with an external Todo API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
tokens_app = typer.Typer(help="API tokens for the local REST API.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
quarantine_app = typer.Typer(
    help="Quarantined and dead-lettered entities of the sync.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(tenants.app, name="tenants")
app.add_typer(connections.app, name="connections")
app.add_typer(connections.secrets_app, name="secrets")

HostOption = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant", help="The tenant's name; default: the default tenant.", show_default=False
    ),
]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")]


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply every pending migration (a no-op when the schema is current)."""
    from todosync import schema
    from todosync.db import migrate

    settings = config.load_settings()
    schema.upgrade(settings.database_url)
    typer.echo(f"database at revision {migrate.head_revision(settings.database_url)}", err=True)


# by run status (`sync.run_status`), as DESIGN.md's exit codes say
_SYNC_EXIT = {"ok": 0, "partial": 3, "held": 3, "degraded": 4, "failed": 1}


@app.command("sync")
@handle_errors
def sync(
    list_id: int | None = typer.Option(None, "--list", help="Sync only this local list."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="End stdout with one JSON object."),
    allow_mass_delete: bool = typer.Option(
        False, "--allow-mass-delete", help="Apply deletions that the mass-delete guard holds."
    ),
    restore_remote: bool = typer.Option(
        False,
        "--restore-remote",
        help="The external account was reset: push the local data again for what is missing "
        "remotely, instead of deleting it here.",
    ),
    tenant: TenantOption = None,
) -> None:
    """Run one sync now: pull, merge, push. Exit 0 ok, 3 partial or held, 4 degraded, 1 failed."""
    import asyncio
    import json

    from rich.console import Console

    from todosync.cli import console as sync_console
    from todosync.cli import runner
    from todosync.sync import engine

    settings = load_settings()
    common.require_current_schema(settings)
    request = engine.RunRequest(
        trigger="cli",
        list_id=list_id,
        dry_run=dry_run,
        allow_mass_delete=allow_mass_delete,
        restore_remote=restore_remote,
    )
    out = Console(stderr=True)
    if sys.stdout.isatty() and not as_json:
        with sync_console.progress_bar(out) as progress:
            report = asyncio.run(
                runner.run_once(settings, request, tenant=tenant, progress=progress)
            )
    else:
        report = asyncio.run(runner.run_once(settings, request, tenant=tenant))
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for entry in report.plan or []:
            typer.echo(json.dumps(entry, ensure_ascii=False))
        typer.echo(report.summary())
    raise typer.Exit(_SYNC_EXIT.get(report.status, EXIT_ERROR))


@app.command("verify")
@handle_errors
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    tenant: TenantOption = None,
) -> None:
    """Compare both sides field by field. Exit 0 when they agree, 3 on drift."""
    import asyncio
    import json

    from todosync.cli import runner
    from todosync.sync import verify as verify_mod

    settings = load_settings()
    common.require_current_schema(settings)

    async def run() -> list[verify_mod.Drift]:
        async with runner.open_engine(settings, tenant=tenant) as eng:
            return await verify_mod.verify(
                eng.sessionmaker,
                eng.client,
                tenant_id=eng.tenant_id,
                connection_id=eng.connection_id,
            )

    drift = asyncio.run(run())
    if as_json:
        payload = {"converged": not drift, "drift": [d.as_json() for d in drift]}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        for d in drift:
            typer.echo(" ".join(f"{k}={v}" for k, v in d.as_json().items()))
        typer.echo("converged" if not drift else f"{len(drift)} differences")
    raise typer.Exit(0 if not drift else 3)


@quarantine_app.command("list")
@handle_errors
def quarantine_list(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    tenant: TenantOption = None,
) -> None:
    """List quarantined entities (invalid remote data, dead letters), oldest first."""
    import json

    from todosync.cli import quarantine as quarantine_cli

    settings = load_settings()
    common.require_current_schema(settings)
    entries = asyncio.run(quarantine_cli.list_all(settings, tenant=tenant))
    if as_json:
        typer.echo(json.dumps({"data": entries}, ensure_ascii=False))
        return
    for entry in entries:
        typer.echo(quarantine_cli.describe(entry))
    typer.echo(f"{len(entries)} quarantined", err=True)


@quarantine_app.command("replay")
@handle_errors
def quarantine_replay(
    quarantine_id: Annotated[
        int | None, typer.Argument(metavar="ID", help="The entity's id in `quarantine list`.")
    ] = None,
    replay_all: bool = typer.Option(False, "--all", help="Replay every quarantined entity."),
    tenant: TenantOption = None,
) -> None:
    """Release quarantined entities: the next sync run tries them afresh."""
    from todosync.cli import quarantine as quarantine_cli

    if (quarantine_id is None) == (not replay_all):
        fail("give an ID or --all (not both)", code=EXIT_USAGE)
    settings = load_settings()
    common.require_current_schema(settings)
    target = None if replay_all else quarantine_id
    count = asyncio.run(quarantine_cli.replay(settings, quarantine_id=target, tenant=tenant))
    typer.echo(f"{count} released for the next run", err=True)


def _register_fake_external() -> None:
    # Its options module is light; uvicorn and starlette load only when the command runs.
    from todosync.fake_external import cli as fake_external_cli

    app.command("fake-external")(fake_external_cli.run)


_register_fake_external()


@tokens_app.command("create")
@handle_errors
def tokens_create(
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Tenant name (created if new); default: the default tenant."),
    ] = None,
    admin: Annotated[
        bool,
        typer.Option(
            "--admin",
            help="An admin token: reads every tenant's sync health, no tenant's lists or items.",
        ),
    ] = False,
) -> None:
    """Create an API token and print it, alone, on stdout (it is not shown again)."""
    from todosync.auth import service as auth_service

    if admin and tenant is not None:
        fail("an admin token belongs to no tenant: give --admin or --tenant", code=EXIT_USAGE)
    token = common.run_in_transaction(
        lambda s: auth_service.create_token(s, tenant=tenant, admin=admin)
    )
    typer.echo(token)


@tokens_app.command("revoke")
@handle_errors
def tokens_revoke(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="ID|PREFIX",
            help="The token's id or shown prefix, as `tokens list` prints them.",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="Read the token itself from this file ('-': standard input).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Revoke an API token: requests that carry it get 401 from now on (a running `serve`
    may accept it for TODOSYNC_TOKEN_CACHE_SECONDS more, 5 by default). The token is never
    an argument (arguments show in `ps` and shell history): name it by id or prefix, or pass
    it in a file or on standard input."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from todosync.auth import service as auth_service
    from todosync.auth import tokens

    if (name is None) == (token_file is None):
        fail("give a token's ID or PREFIX, or --token-file (not both)", code=EXIT_USAGE)
    if name is not None and tokens.looks_like_token(name):
        fail(
            "a token is a secret, never an argument: name it by its id or prefix "
            "(`todosync tokens list`), or pass it with --token-file (- for stdin)",
            code=EXIT_USAGE,
        )
    secret = common.read_secret(token_file) if token_file is not None else None

    async def revoke(session: AsyncSession) -> auth_service.Revoked:
        if secret is not None:
            return await auth_service.revoke_token(session, token=secret)
        return await auth_service.revoke_token_named(session, name=name or "")

    outcome = common.run_in_transaction(revoke)
    if outcome is auth_service.Revoked.UNKNOWN:
        fail("unknown token")
    typer.echo(f"token {outcome.value}", err=True)


@tokens_app.command("list")
@handle_errors
def tokens_list(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List API tokens: id, tenant ("(admin)" for an admin token), shown prefix, created,
    revoked (never the token)."""
    import json

    from todosync.auth import service as auth_service

    found = common.run_in_transaction(auth_service.list_tokens)
    if as_json:
        typer.echo(json.dumps({"data": [t.as_json() for t in found]}, ensure_ascii=False))
        return
    for t in found:
        revoked = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
        shown = t.prefix or "(no prefix)"
        created = f"created {t.created_at:%Y-%m-%d %H:%M}"
        typer.echo(f"{t.id}\t{t.tenant or '(admin)'}\t{shown}\t{created}\t{revoked}")


@app.command()
@handle_errors
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Processes that serve the API behind the one port (PostgreSQL only above 1); "
            "the scheduler runs in one of them.",
        ),
    ] = 1,
) -> None:
    """Serve the local REST API (docs at /docs) and run the sync scheduler until interrupted."""
    from todosync import processes, runtime, server
    from todosync.app import create_app

    if workers < 1:
        fail(f"--workers must be at least 1 (got {workers})", code=EXIT_USAGE)
    settings = load_settings()
    processes.require_supported(settings, workers=workers)
    common.require_current_schema(settings)
    if settings.external_api_token is None:
        # Not an error (an external API may need no token), but the usual cause of a 401.
        logging.getLogger("todosync.serve").warning(
            "no TODOSYNC_EXTERNAL_API_TOKEN (or _FILE) is set: syncs call %s without a token",
            settings.external_api_url,
        )
    if workers > 1:
        processes.run(settings, host=host, port=port, workers=workers)
        return
    api = create_app(settings, scheduler=True)
    server.run(
        api,
        host=host,
        port=port,
        settings=settings,
        on_signal=runtime.services_of(api).request_stop,
    )


@app.command()
@handle_errors
def worker() -> None:
    """Run sync jobs from the PostgreSQL job queue (the distributed mode) until SIGTERM."""
    from todosync import worker as worker_process
    from todosync.jobs import queue

    settings = load_settings()
    queue.require_postgres(settings.database_url)
    common.require_current_schema(settings)
    asyncio.run(worker_process.run(settings))


@app.command()
@handle_errors
def demo(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Serve the API and the scheduler against a bundled fake external API; prints the URLs
    and a token."""
    from todosync.demo import run_demo

    run_demo(load_settings(), host=host, port=port)


@app.command("graphql-schema")
@handle_errors
def graphql_schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write it here instead of stdout.", show_default=False),
    ] = None,
) -> None:
    """Print the GraphQL schema (SDL) that /graphql serves; `docs/schema.graphql` is its copy."""
    from todosync.graphql import schema

    text = schema.print_sdl()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
