"""`todosync worker`: one worker process of the distributed mode, on PGQueuer.

It runs sync jobs (`jobs.handlers`), at most `TODOSYNC_MAX_CONCURRENT_RUNS` at a time (a job
whose connection is busy is retried later, so a hanging connection holds one slot), and takes
part in two cron schedules that PGQueuer hands to one worker at a time: the tick (every second:
periodic runs, adoption of queued runs without a job) and hourly housekeeping.

Liveness: PGQueuer renews each job's heartbeat while it runs; a job whose worker fell silent
for `LEASE_TTL_SECONDS` (the same figure after which a run lease is taken over) is picked
again by another worker, which then closes the run that was left `running` (`recovery`).

Shutdown: on SIGTERM or SIGINT the worker takes no new job, asks the runs in progress to stop
after their current action (the engine records them `partial`), waits up to
`SHUTDOWN_TIMEOUT_SECONDS` for them, and past that cancels them (each is recorded as
interrupted and a follow-up run is queued). It then exits with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

import psycopg
from pgqueuer.adapters.drivers.psycopg import PsycopgDriver
from pgqueuer.core.applications import PgQueuer
from pgqueuer.domain.models import Schedule
from pgqueuer.domain.types import Channel

from todosync import runtime
from todosync.config import Settings
from todosync.errors import TodosyncError
from todosync.jobs import queue
from todosync.jobs.handlers import SyncJobs

__all__ = ["QueueConnectionLost", "QueueNotInstalled", "run"]

log = logging.getLogger(__name__)

TICK_ENTRYPOINT = "todosync.tick"
HOUSEKEEPING_ENTRYPOINT = "todosync.housekeeping"
_EVERY_SECOND = "* * * * * *"  # croniter's sixth field is the second
_HOURLY = "23 * * * *"
# Longest wait for a NOTIFY before looking at the queue anyway: a stalled job (its worker died)
# sends none, so this bounds how long after `LEASE_TTL_SECONDS` it is picked up again.
_MAX_POLL_S = 5.0


class QueueNotInstalled(TodosyncError):
    """The job queue's tables are missing."""


class QueueConnectionLost(TodosyncError):
    """The connection that the worker listens and dequeues on failed."""


async def run(settings: Settings) -> None:
    """Works until SIGTERM or SIGINT; see the module docstring."""
    queue.require_postgres(settings.database_url)
    try:
        async with (
            runtime.sync_process(settings) as parts,
            await psycopg.AsyncConnection.connect(
                queue.libpq_url(settings.database_url), autocommit=True
            ) as connection,
        ):
            jobs = SyncJobs(
                sessionmaker=parts.sessionmaker,
                clients=parts.clients,
                settings=settings,
                observer=parts.observer,
            )
            driver = PsycopgDriver(connection)
            await _check_installed(driver)
            await jobs.start()
            pgq = _queuer(driver, jobs)
            await _work(pgq, jobs, settings=settings)
    except psycopg.OperationalError as exc:
        # e.g. PostgreSQL restarted under the queue's connection: exit 1 and be restarted
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise QueueConnectionLost(f"the job queue's database connection failed: {first}") from None


def _queuer(driver: PsycopgDriver, jobs: SyncJobs) -> PgQueuer:
    pgq = PgQueuer(
        connection=driver, channel=Channel(queue.CHANNEL), queries=queue.make_queries(driver)
    )
    pgq.entrypoint(queue.RUN_ENTRYPOINT, accepts_context=False)(jobs.run_job)

    async def tick(_schedule: Schedule) -> None:
        await jobs.tick()

    async def housekeep(_schedule: Schedule) -> None:
        await jobs.housekeep()

    pgq.schedule(TICK_ENTRYPOINT, _EVERY_SECOND, accepts_context=False)(tick)
    pgq.schedule(HOUSEKEEPING_ENTRYPOINT, _HOURLY, accepts_context=False)(housekeep)
    return pgq


async def _check_installed(driver: PsycopgDriver) -> None:
    if not await queue.make_queries(driver).schema_is_installed():
        raise QueueNotInstalled("the job queue is not installed; run `todosync db upgrade`")


async def _work(pgq: PgQueuer, jobs: SyncJobs, *, settings: Settings) -> None:
    """Runs PGQueuer until a signal, then shuts down as the module docstring says."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    running: set[asyncio.Task[object]] = set()

    def on_signal() -> None:
        jobs.stopping = True  # the engine stops after its current action
        pgq.shutdown.set()  # no new job
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    jobs.on_job_start = running.add
    jobs.on_job_end = running.discard
    work = asyncio.create_task(
        pgq.run(
            batch_size=1,
            # PGQueuer wants at least two (one job per fetch)
            max_concurrent_tasks=max(2, settings.max_concurrent_runs),
            heartbeat_timeout=timedelta(seconds=settings.lease_ttl_seconds),
            dequeue_timeout=timedelta(seconds=min(_MAX_POLL_S, settings.lease_ttl_seconds / 2)),
        ),
        name="todosync-worker",
    )
    log.info("worker ready: waiting for sync jobs")
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if not work.done():
        log.info("stopping: waiting for %d job(s) in progress", len(running))
        done, _ = await asyncio.wait({work}, timeout=settings.shutdown_timeout_seconds)
        if not done:
            log.warning("jobs still running after the shutdown timeout; cancelling them")
            for task in list(running):
                task.cancel()
            await work
    stopper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stopper
    work.result()  # a failure of the queue itself (e.g. a lost connection) is the exit status
    log.info("worker stopped")
