"""What a worker does with its jobs: carry out one queued sync run, and the periodic tick.

A sync job names a run. The run decides what the job does, so that a job delivered twice
(PGQueuer delivers at least once) or late is harmless:
- `running`, or closed as abandoned: the job comes back because its worker died (see
  `jobs.recovery`): the run is closed if still open, and a follow-up run is queued with its
  own job. A `running` run whose holder is alive belongs to another worker: retried later.
- finished otherwise: nothing (a repeated delivery);
- `queued`: the engine carries it out (closing the connection's abandoned runs first). When
  the connection is busy (`RunInProgress`: another worker or a CLI sync holds the lease) the
  job is retried later, never failed; a run that raises anything else is recorded `failed`.

The tick (one worker per tick, through the queue's cron schedule) queues the periodic runs that
are due, through the embedded `Scheduler`'s own step, so that intervals, jitter, adaptive mode
and the exactly-once claim of each period are the same in both modes; and it enqueues jobs for
due queued runs that have none (queued by a path that does not enqueue, e.g. while the
service ran embedded).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy.exc
from pgqueuer.domain.errors import RetryRequested
from pgqueuer.domain.models import Job
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.config import Settings
from todosync.jobs import carry, queue, recovery
from todosync.jobs.scheduler import Scheduler, queue_scheduled_run
from todosync.logging import best_effort
from todosync.sync.books import queries, run_status
from todosync.sync.books.models import SyncRun
from todosync.sync.books.run_status import RunStatus
from todosync.sync.observer import RunObserver
from todosync.tenancy.clients import ConnectionClients

__all__ = ["SyncJobs"]

log = logging.getLogger(__name__)

# A database hiccup: try the job again after this long rather than failing the run.
_DATABASE_RETRY = timedelta(seconds=2)


class SyncJobs:
    """The handlers of one worker process, over its database and its external clients."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clients: ConnectionClients,
        settings: Settings,
        observer: RunObserver | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clients = clients
        self.settings = settings
        self.observer = observer  # live events (NOTIFY) and alerts of the runs done here
        self.stopping = False
        # PGQueuer takes at least two jobs at once: this keeps the runs to the setting
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        # the worker keeps the tasks of jobs in progress, to cancel them past its shutdown timeout
        self.on_job_start: Callable[[asyncio.Task[Any]], None] = lambda _task: None
        self.on_job_end: Callable[[asyncio.Task[Any]], None] = lambda _task: None
        self.scheduler = Scheduler(
            sessionmaker=sessionmaker, settings=settings, enqueue=_queue_scheduled_job
        )

    # -- sync jobs -------------------------------------------------------------------------------

    async def run_job(self, job: Job) -> None:
        """The entrypoint of sync jobs (see the module docstring)."""
        run_id = queue.parse_payload(job.payload)
        task = asyncio.current_task()
        assert task is not None, "jobs run in tasks"
        self.on_job_start(task)
        try:
            await self._run(run_id)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            log.warning("run %s waits: database unavailable (%s)", run_id, type(exc).__name__)
            raise RetryRequested(_DATABASE_RETRY, reason="database unavailable") from None
        finally:
            self.on_job_end(task)

    async def _run(self, run_id: int) -> None:
        found = await self._load(run_id)
        if found is None:
            log.info("run %s is gone (purged); its job is dropped", run_id)
            return
        run, tenant_id = found
        abandoned = recovery.is_abandoned(run)
        if run.status == RunStatus.RUNNING:
            if run_id not in await self._reap(run.connection_id):
                raise RetryRequested(self._busy_delay(), reason="the run is in progress elsewhere")
            abandoned = True
        if abandoned:
            # this job's worker died mid-run: the trigger is carried out by a follow-up
            await self._follow_up(run)
            return
        if run.status in run_status.FINISHED:
            return  # a repeated delivery of a job that already did its work
        if self.stopping:
            raise RetryRequested(timedelta(0), reason="the worker is shutting down")
        await self._carry_out(run, tenant_id=tenant_id)

    async def _carry_out(self, run: SyncRun, *, tenant_id: int) -> None:
        carrier = carry.Carrier(
            sessionmaker=self.sessionmaker,
            clients=self.clients,
            settings=self.settings,
            should_stop=lambda: self.stopping,
            observer=self.observer,
            # a database hiccup retries the job (`run_job`) rather than failing the run
            passed_on=(sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError),
        )
        try:
            async with self._slots:
                done = await carrier.carry_out(run, tenant_id=tenant_id)
        except asyncio.CancelledError:
            # cut short past the shutdown timeout: the engine released its lease
            await asyncio.shield(self._interrupted(run.id))
            raise
        if not done:
            raise RetryRequested(self._busy_delay(), reason="connection busy")

    async def _load(self, run_id: int) -> tuple[SyncRun, int] | None:
        async with self.sessionmaker() as session:
            return await queries.run_with_tenant(session, run_id=run_id)

    async def _reap(self, connection_id: int) -> list[int]:
        async with self.sessionmaker.begin() as session:
            return await recovery.reap(
                session,
                connection_id=connection_id,
                now=utc_now(),
                ttl_s=self.settings.lease_ttl_seconds,
            )

    async def _follow_up(self, run: SyncRun) -> None:
        async with self.sessionmaker.begin() as session:
            queued = await recovery.follow_up(session, run, now=utc_now())
        log.warning(
            "run %s was abandoned by a worker that died; follow-up run %s", run.id, queued.id
        )

    def _busy_delay(self) -> timedelta:
        # spread the retries so that waiting jobs do not all come back at the same moment
        base = min(2.0, self.settings.lease_ttl_seconds / 3)
        return timedelta(seconds=base * random.uniform(0.5, 1.5))  # noqa: S311

    async def _interrupted(self, run_id: int) -> None:
        """Closes a run that the shutdown cut short and queues a follow-up in its place."""
        # the process is going away; the reaper remains
        with best_effort(log, f"closing the interrupted run {run_id}"):
            async with self.sessionmaker.begin() as session:
                await queries.fail_run(
                    session, run_id=run_id, reason="interrupted by shutdown", now=utc_now()
                )
                run = await session.get(SyncRun, run_id, populate_existing=True)
                if run is not None:
                    await recovery.follow_up(session, run, now=utc_now())

    # -- the periodic tick -----------------------------------------------------------------------

    async def tick(self) -> None:
        """Queues due periodic runs (each period once, however many workers tick) and adopts
        due queued runs that have no job."""
        await self.scheduler.tick()
        async with self.sessionmaker.begin() as session:
            due = await queries.due_runs(session, now=utc_now())
            await queue.enqueue_runs(session, [queue.RunJob(run.id) for run, _ in due])

    async def housekeep(self) -> None:
        await self.scheduler.housekeep()

    async def start(self) -> None:
        """With periodic syncs off, forgets the next periodic times (so the status shows none)."""
        if not self.scheduler.enabled:
            await self.scheduler.reset()


async def _queue_scheduled_job(session: AsyncSession, *, tenant_id: int) -> SyncRun:
    """The scheduler's `Enqueue` in the distributed mode: the queued run and its job."""
    run = await queue_scheduled_run(session, tenant_id=tenant_id)
    assert isinstance(run, SyncRun)
    await queue.enqueue_runs(session, [queue.RunJob(run.id, run_after=run.run_after)])
    return run
