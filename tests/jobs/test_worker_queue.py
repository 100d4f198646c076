"""`jobs.queue.enqueue_runs`: a run's job is written in the caller's transaction, once per run,
and as late as the run is delayed (PostgreSQL only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.jobs import queue
from todosync.store import models
from todosync.sync.books import runs
from todosync.sync.books.run_status import RunStatus

pytestmark = pytest.mark.postgres_only

_JOBS = sa.text(
    f"SELECT payload, execute_after FROM {queue.SCHEMA}.pgqueuer "  # noqa: S608 (a constant)
    "WHERE dedupe_key = :key"
)


@pytest.fixture
async def queue_db(
    is_postgres: bool, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test database's sessions; the jobs that a test made are deleted afterwards."""
    if not is_postgres:
        pytest.skip("the job queue lives in PostgreSQL only")
    yield sessionmaker
    async with sessionmaker.begin() as session:
        await session.execute(
            sa.text(f"DELETE FROM {queue.SCHEMA}.pgqueuer WHERE entrypoint = :name"),  # noqa: S608
            {"name": queue.RUN_ENTRYPOINT},
        )


async def _queued_run(session: AsyncSession, *, delay_s: float = 0.0) -> int:
    run = await runs.create_run(
        session,
        connection_id=models.DEFAULT_CONNECTION_ID,
        trigger="manual",
        status=RunStatus.QUEUED,
        run_after=utc_now() + timedelta(seconds=delay_s),
    )
    await queue.enqueue_runs(session, [queue.RunJob(run.id, run_after=run.run_after)])
    return run.id


async def _jobs(
    sessionmaker: async_sessionmaker[AsyncSession], run_id: int
) -> list[tuple[bytes, datetime]]:
    """(payload, execute_after) of the run's jobs."""
    async with sessionmaker() as session:
        rows = await session.execute(_JOBS, {"key": f"run:{run_id}"})
        return [(payload, execute_after) for payload, execute_after in rows]


async def test_a_rolled_back_run_leaves_no_job(queue_db: async_sessionmaker[AsyncSession]) -> None:
    """The job is part of the transaction that records the run: a rollback takes both."""
    async with queue_db() as session:
        run_id = await _queued_run(session)
        await session.rollback()
    assert await _jobs(queue_db, run_id) == []


async def test_a_committed_run_has_exactly_one_job(
    queue_db: async_sessionmaker[AsyncSession],
) -> None:
    """Enqueueing a run again (a trigger that joined it) adds no second job, and the job names
    the run."""
    async with queue_db.begin() as session:
        run_id = await _queued_run(session)
    async with queue_db.begin() as session:
        await queue.enqueue_runs(session, [queue.RunJob(run_id)])
    jobs = await _jobs(queue_db, run_id)
    assert len(jobs) == 1
    assert queue.parse_payload(jobs[0][0]) == run_id


async def test_a_delayed_run_is_a_delayed_job(queue_db: async_sessionmaker[AsyncSession]) -> None:
    """A run due in ten minutes becomes a job that no worker takes before then."""
    async with queue_db.begin() as session:
        run_id = await _queued_run(session, delay_s=600)
    ((_, execute_after),) = await _jobs(queue_db, run_id)
    assert execute_after > utc_now() + timedelta(seconds=500)
