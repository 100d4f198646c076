"""Runs the sync from a process's edge (CLI, scheduler, worker): builds the database engine
and the external client from settings, runs, and disposes of both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from todosync.config import Settings
from todosync.db import engine as db_engine
from todosync.external.client import ExternalClient
from todosync.observe import observers
from todosync.sync.engine import RunRequest, SyncEngine
from todosync.sync.executor import Progress
from todosync.sync.report import RunReport

__all__ = ["open_engine", "run_once"]


@asynccontextmanager
async def open_engine(
    settings: Settings, *, progress: Progress | None = None
) -> AsyncIterator[SyncEngine]:
    """A sync engine over fresh database and HTTP clients, closed on exit."""
    engine = db_engine.create_engine(
        settings.database_url, hide_parameters=not settings.debug_log_content
    )
    sessionmaker = db_engine.create_sessionmaker(engine)
    try:
        async with (
            ExternalClient.from_settings(settings) as client,
            # live events (via NOTIFY on PostgreSQL) and the alert webhook
            observers.for_process(settings, sessionmaker=sessionmaker) as observer,
        ):
            yield SyncEngine(
                sessionmaker=sessionmaker,
                client=client,
                settings=settings,
                progress=progress,
                observer=observer,
            )
    finally:
        await engine.dispose()


async def run_once(
    settings: Settings, request: RunRequest, *, progress: Progress | None = None
) -> RunReport:
    async with open_engine(settings, progress=progress) as engine:
        return await engine.run(request)
