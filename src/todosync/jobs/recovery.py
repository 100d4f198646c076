"""Recovering the sync job of a worker that died (SIGKILL, a lost machine).

PGQueuer hands such a job to another worker once its heartbeat is older than
`LEASE_TTL_SECONDS`. Its run is then still `running`, or already closed as abandoned by
`sync.runs.reap_abandoned` (which every engine run calls for its connection first). The job
closes it if needed and queues one follow-up run of the same kind, with its job, so that the
trigger is carried out after all; the next run of the connection thus finishes what the dead
one left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.jobs import queue
from todosync.sync.books import queries, runs
from todosync.sync.books.models import SyncRun
from todosync.sync.books.run_status import RunStatus

__all__ = ["follow_up", "is_abandoned", "reap"]


def is_abandoned(run: SyncRun) -> bool:
    """Closed because the process running it died."""
    return run.status == RunStatus.FAILED and run.reason == runs.ABANDONED


async def reap(
    session: AsyncSession, *, connection_id: int, now: datetime, ttl_s: float
) -> list[int]:
    """Closes the connection's abandoned runs (see `sync.runs.reap_abandoned`)."""
    return await runs.reap_abandoned(session, now=now, ttl_s=ttl_s, connection_id=connection_id)


async def follow_up(session: AsyncSession, run: SyncRun, *, now: datetime) -> SyncRun:
    """A queued run of the same kind as `run` (the one already waiting, if any), with its job;
    flushes, never commits."""
    waiting = await queries.find_queued(
        session,
        connection_id=run.connection_id,
        list_id=run.list_id,
        dry_run=run.dry_run,
        allow_mass_delete=run.allow_mass_delete,
        restore_remote=run.restore_remote,
        run_after=now,
    )
    queued = waiting or await runs.create_run(
        session,
        connection_id=run.connection_id,
        trigger=run.trigger,
        status=queries.QUEUED,
        run_after=now,
        list_id=run.list_id,
        dry_run=run.dry_run,
        allow_mass_delete=run.allow_mass_delete,
        restore_remote=run.restore_remote,
    )
    await queue.enqueue_runs(session, [queue.RunJob(queued.id)])
    return queued
