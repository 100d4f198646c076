"""`todosync demo`: the embedded default in one command, for a first look.

Steps (a later issue adds the periodic scheduler between 4 and 5):
1. migrate the database (a SQLite file in the working directory unless
   `TODOSYNC_DATABASE_URL` says otherwise);
2. create an API token for the default tenant;
3. start the bundled fake external API in this process, seeded with sample lists, on a free
   loopback port, and point the settings at it;
4. build the API;
5. serve it, and once it listens print its URL, the docs URL, the fake's URL and the token.
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
from todosync.fake_external import config as fake_config
from todosync.fake_external import server as fake_server

__all__ = ["run_demo"]


def run_demo(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Runs the demo until interrupted (see the module docstring for the steps)."""
    migrate.upgrade(settings.database_url)
    token = asyncio.run(
        run_in_transaction(settings.database_url, lambda s: auth_service.create_token(s))
    )
    fake = fake_server.start_in_thread(fake_config.ServerConfig(port=0, seed_sample=True))
    try:
        settings = settings.model_copy(
            update={"external_api_url": fake.url, "external_api_token": None}
        )
        server.run(
            create_app(settings),
            host=host,
            port=port,
            log_level=settings.log_level,
            on_started=lambda base_url: _announce(base_url, token=token, fake_url=fake.url),
        )
    finally:
        fake.stop()


def _announce(base_url: str, *, token: str, fake_url: str) -> None:
    typer.echo(
        f"\ntodosync demo is running (Ctrl+C stops it).\n"
        f"  API:           {base_url}/api/todolists\n"
        f"  Docs:          {base_url}/docs\n"
        f"  Fake external: {fake_url}/todolists\n"
        f"  Token:         {token}\n\n"
        f"Try:   curl -H 'Authorization: Bearer {token}' {base_url}/api/todolists\n"
        f"Sync:  TODOSYNC_EXTERNAL_API_URL={fake_url} todosync sync\n"
    )
