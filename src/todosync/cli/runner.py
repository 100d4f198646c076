"""Runs the sync from the command line (`todosync sync`, `verify`): an engine over the parts
that `runtime.sync_process` builds and closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from todosync import runtime
from todosync.config import Settings
from todosync.sync.apply.executor import Progress
from todosync.sync.books.report import RunReport
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine

__all__ = ["open_engine", "run_once"]


@asynccontextmanager
async def open_engine(
    settings: Settings, *, progress: Progress | None = None
) -> AsyncIterator[SyncEngine]:
    """A sync engine over the process's parts (`runtime.sync_process`), closed on exit."""
    async with runtime.sync_process(settings) as parts:
        yield SyncEngine(
            sessionmaker=parts.sessionmaker,
            client=parts.client,
            options=EngineOptions.from_settings(settings),
            progress=progress,
            observer=parts.observer,
        )


async def run_once(
    settings: Settings, request: RunRequest, *, progress: Progress | None = None
) -> RunReport:
    async with open_engine(settings, progress=progress) as engine:
        return await engine.run(request)
