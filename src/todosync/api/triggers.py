"""Handing a queued run to whatever carries runs out in this deployment; shared by
`POST /api/sync` and the dashboard's "sync now" and "sync later"."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTasks  # FastAPI's subclass, or GraphQL's

from todosync import runtime
from todosync.jobs import queue
from todosync.sync.books.models import SyncRun

__all__ = ["hand_over"]


async def hand_over(
    run: SyncRun, *, session: AsyncSession, request: Request, background: BackgroundTasks
) -> None:
    """In the distributed mode, writes the run's job in the request's transaction (a run that
    this trigger joined has one already: skipped); with an in-process dispatcher, wakes it
    after the response, hence after the commit, so that it sees the run."""
    services = runtime.services_of(request.app)
    if services.enqueue_jobs:
        await queue.enqueue_runs(session, [queue.RunJob(run.id, run_after=run.run_after)])
    if services.dispatcher is not None:
        background.add_task(services.dispatcher.wake)
