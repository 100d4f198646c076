"""Runs the sync from the command line (`todosync sync`, `verify`): an engine for one tenant's
connection over the parts that `runtime.sync_process` builds and closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from todosync import runtime
from todosync.config import Settings
from todosync.sync.apply.executor import Progress
from todosync.sync.books.report import RunReport
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine
from todosync.tenancy import connections

__all__ = ["open_engine", "run_once"]


@asynccontextmanager
async def open_engine(
    settings: Settings, *, tenant: str | None = None, progress: Progress | None = None
) -> AsyncIterator[SyncEngine]:
    """A sync engine for the connection of `tenant` (None: the default tenant), over the
    process's parts (`runtime.sync_process`), closed on exit. A disabled tenant or connection
    is refused."""
    async with runtime.sync_process(settings) as parts:
        async with parts.sessionmaker() as session:
            found = await connections.runnable_connection(session, tenant=tenant)
        async with parts.clients.lend(found.connection_id) as client:
            yield SyncEngine(
                sessionmaker=parts.sessionmaker,
                client=client,
                options=EngineOptions.from_settings(settings),
                connection_id=found.connection_id,
                tenant_id=found.tenant_id,
                progress=progress,
                observer=parts.observer,
            )


async def run_once(
    settings: Settings,
    request: RunRequest,
    *,
    tenant: str | None = None,
    progress: Progress | None = None,
) -> RunReport:
    async with open_engine(settings, tenant=tenant, progress=progress) as engine:
        return await engine.run(request)
