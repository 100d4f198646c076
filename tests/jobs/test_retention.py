"""Run retention: the scheduler's housekeeping purges old finished runs and their logs."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync import config
from todosync.clock import utc_now
from todosync.jobs.scheduler import Scheduler
from todosync.store.models import DEFAULT_CONNECTION_ID
from todosync.sync.books import runs
from todosync.sync.books.models import SyncConflict, SyncLog, SyncRun
from todosync.sync.books.run_status import RunStatus


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession], *, status: str, age_days: float | None
) -> int:
    """A run that finished `age_days` ago with `status` (None: still queued), with one log entry."""
    async with sessionmaker.begin() as session:
        run = await runs.create_run(
            session,
            connection_id=DEFAULT_CONNECTION_ID,
            trigger="schedule",
            status=RunStatus.QUEUED,
        )
        if age_days is not None:
            finished = utc_now() - timedelta(days=age_days)
            await session.execute(
                sa.update(SyncRun)
                .where(SyncRun.id == run.id)
                .values(status=status, started_at=finished, finished_at=finished)
            )
        await runs.add_log_entries(
            session,
            [
                {
                    "connection_id": DEFAULT_CONNECTION_ID,
                    "run_id": run.id,
                    "kind": "list",
                    "local_id": 1,
                    "action": "update",
                    "side": "remote",
                }
            ],
        )
        return run.id


async def test_housekeeping_purges_old_runs_with_their_logs_and_keeps_the_rest(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Runs past RUN_RETENTION_DAYS go with their log; the newest ok run, recent and
    unfinished runs stay, and a conflict outlives its purged run."""
    old_ok = await _run(sessionmaker, status="ok", age_days=40)
    old_failed = await _run(sessionmaker, status="failed", age_days=35)
    newest_ok = await _run(sessionmaker, status="ok", age_days=31)
    recent = await _run(sessionmaker, status="failed", age_days=1)
    queued = await _run(sessionmaker, status=RunStatus.QUEUED, age_days=None)
    async with sessionmaker.begin() as session:
        await runs.add_conflicts(
            session,
            [
                {
                    "connection_id": DEFAULT_CONNECTION_ID,
                    "run_id": old_failed,
                    "kind": "list",
                    "local_id": 1,
                    "field": "name",
                    "base": "a",
                    "local": "b",
                    "remote": "c",
                    "winner": "remote",
                }
            ],
        )
    settings = config.Settings(database_url=database_url, run_retention_days=30)
    scheduler = Scheduler(sessionmaker=sessionmaker, settings=settings, rng=random.Random(1))

    assert await scheduler.housekeep() == 2

    async with sessionmaker() as session:
        kept = set((await session.execute(sa.select(SyncRun.id))).scalars())
        logged = set((await session.execute(sa.select(SyncLog.run_id))).scalars())
        conflict_runs = list((await session.execute(sa.select(SyncConflict.run_id))).scalars())
    assert kept == {newest_ok, recent, queued}
    assert logged == kept
    assert old_ok not in kept
    assert conflict_runs == [None]


async def test_the_newest_finished_run_survives_however_old(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A connection whose every run is old keeps its newest one, so the status still has it."""
    await _run(sessionmaker, status="failed", age_days=90)
    newest = await _run(sessionmaker, status="failed", age_days=60)
    settings = config.Settings(database_url=database_url, run_retention_days=7)
    scheduler = Scheduler(sessionmaker=sessionmaker, settings=settings)

    assert await scheduler.housekeep() == 1
    async with sessionmaker() as session:
        assert list((await session.execute(sa.select(SyncRun.id))).scalars()) == [newest]
