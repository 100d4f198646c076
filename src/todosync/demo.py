"""`todosync demo`: the embedded default in one command, for a first look.

Steps (later issues add the bundled fake external API and the scheduler between 3 and 4):
1. migrate the database (a SQLite file in the working directory unless
   `TODOSYNC_DATABASE_URL` says otherwise);
2. create an API token for the default tenant;
3. build the API;
4. serve it, and once it listens print its URL, the docs URL and the token.
"""

from __future__ import annotations

import asyncio

import typer

from todosync import server
from todosync.api.app import create_app
from todosync.auth import service as auth_service
from todosync.config import Settings
from todosync.db import migrate
from todosync.db.session import run_in_transaction

__all__ = ["run_demo"]


def run_demo(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Runs the demo until interrupted (see the module docstring for the steps)."""
    migrate.upgrade(settings.database_url)
    token = asyncio.run(
        run_in_transaction(settings.database_url, lambda s: auth_service.create_token(s))
    )
    app = create_app(settings)
    server.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        on_started=lambda base_url: _announce(base_url, token=token),
    )


def _announce(base_url: str, *, token: str) -> None:
    typer.echo(
        f"\ntodosync demo is running (Ctrl+C stops it).\n"
        f"  API:   {base_url}/api/todolists\n"
        f"  Docs:  {base_url}/docs\n"
        f"  Token: {token}\n\n"
        f"Try:   curl -H 'Authorization: Bearer {token}' {base_url}/api/todolists\n"
    )
