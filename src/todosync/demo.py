"""`todosync demo`: the embedded default in one command, for a first look.

Steps:
1. migrate the database (a SQLite file in the working directory unless
   `TODOSYNC_DATABASE_URL` says otherwise);
2. create an API token for the default tenant, and queue a first run for now (the sample
   lists arrive at start, not one interval later);
3. start the bundled fake external API in this process, seeded with sample lists, on a free
   loopback port, and point the settings at it;
4. build the API with the dispatcher and the scheduler, every `DEMO_INTERVAL_S` seconds
   unless `TODOSYNC_SYNC_INTERVAL_SECONDS` says otherwise, so the sample lists arrive soon;
5. serve it, and once it listens print its URL, the docs URL (and the dashboard's, once the
   app has one), the fake's URL and the token.

Ctrl+C (or SIGTERM) stops the run in progress between two actions, then the server, then
the fake: everything lives in this one process. After Ctrl+C the demo says it stopped and
exits with status 0 (SIGTERM ends it as the signal does).
"""

from __future__ import annotations

import asyncio
import logging

import typer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Match

from todosync import runtime, schema, server
from todosync.app import create_app
from todosync.auth import service as auth_service
from todosync.config import Settings
from todosync.fake_external import config as fake_config
from todosync.fake_external import server as fake_server
from todosync.jobs import scheduler
from todosync.store.models import DEFAULT_TENANT_ID

__all__ = ["DEMO_INTERVAL_S", "run_demo"]

log = logging.getLogger(__name__)

DEMO_INTERVAL_S = 10.0
"""The demo's sync interval: short, so a first look sees the loop turn."""


def run_demo(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Runs the demo until interrupted (see the module docstring for the steps)."""
    schema.upgrade(settings.database_url)
    token = asyncio.run(runtime.in_transaction(settings, _token_and_first_run))
    fake = fake_server.start_in_thread(fake_config.ServerConfig(port=0, seed_sample=True))
    try:
        update: dict[str, object] = {"external_api_url": fake.url, "external_api_token": None}
        if "sync_interval_seconds" not in settings.model_fields_set:
            update["sync_interval_seconds"] = DEMO_INTERVAL_S
        settings = settings.model_copy(update=update)
        app = create_app(settings, scheduler=True)
        server.run(
            app,
            host=host,
            port=port,
            settings=settings,
            on_started=lambda base_url: _announce(
                base_url,
                token=token,
                fake_url=fake.url,
                interval_s=settings.sync_interval_seconds,
                dashboard=_has_route(app, "/dashboard"),
            ),
            on_signal=runtime.services_of(app).request_stop,
        )
    except KeyboardInterrupt:
        pass  # Ctrl+C is how a demo ends: a clean stop, exit status 0
    finally:
        fake.stop()
    log.info("todosync demo stopped")


async def _token_and_first_run(session: AsyncSession) -> str:
    """A token for the default tenant, and a run queued for now: the server's dispatcher
    carries it out at start, so the sample lists are there for the first request."""
    token = await auth_service.create_token(session)
    await scheduler.queue_scheduled_run(session, tenant_id=DEFAULT_TENANT_ID)
    return token


def _has_route(app: FastAPI, path: str) -> bool:
    """Whether a GET of `path` reaches a route (matching, since included routers may be
    wrapped rather than listed route by route)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def _announce(
    base_url: str, *, token: str, fake_url: str, interval_s: float, dashboard: bool
) -> None:
    board = f"  Dashboard:     {base_url}/dashboard (sign in with the token)\n" if dashboard else ""
    every = f"now, then every {interval_s:g} s" if interval_s > 0 else "now, then on demand"
    typer.echo(
        f"\ntodosync demo is running (Ctrl+C stops it); it syncs {every}.\n"
        f"  API:           {base_url}/api/todolists\n"
        f"  Docs:          {base_url}/docs\n"
        f"{board}"
        f"  Fake external: {fake_url}/todolists\n"
        f"  Token:         {token}\n\n"
        f"Try:   curl -H 'Authorization: Bearer {token}' {base_url}/api/todolists\n"
        f"Sync:  curl -X POST -H 'Authorization: Bearer {token}' {base_url}/api/sync\n"
    )
