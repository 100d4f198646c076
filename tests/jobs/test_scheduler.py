"""The periodic scheduler over the real database, driven step by step with a controlled clock."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.store import queue_plain_run
from todosync import config
from todosync.clock import utc_now
from todosync.jobs import schedules
from todosync.jobs.scheduler import Scheduler
from todosync.store.models import DEFAULT_CONNECTION_ID, DEFAULT_TENANT_ID, Connection, Tenant
from todosync.sync import service
from todosync.sync.books import runs
from todosync.sync.books.models import SyncRun, SyncSchedule
from todosync.sync.books.run_status import RunStatus


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_scheduler(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> Any:
    """Builds a scheduler over the test database with the given settings and the test clock."""

    def make(**settings: Any) -> Scheduler:
        effective = config.Settings(database_url=database_url, **settings)
        return Scheduler(
            sessionmaker=sessionmaker, settings=effective, clock=clock, rng=random.Random(1)
        )

    return make


async def _runs(sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[SyncRun]:
    async with sessionmaker() as session:
        return (await session.execute(sa.select(SyncRun).order_by(SyncRun.id))).scalars().all()


async def _schedule(sessionmaker: async_sessionmaker[AsyncSession]) -> SyncSchedule | None:
    async with sessionmaker() as session:
        return await session.get(SyncSchedule, DEFAULT_CONNECTION_ID)


async def _next_run_at(sessionmaker: async_sessionmaker[AsyncSession]) -> datetime | None:
    async with sessionmaker() as session:
        return (await service.status(session, tenant_id=DEFAULT_TENANT_ID)).next_run_at


async def test_the_first_periodic_run_is_one_jittered_interval_after_start(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """After a reset the next periodic time is 60 s ±10 % away, persisted, and in the status."""
    await make_scheduler(sync_interval_seconds=60).reset()

    schedule = await _schedule(sessionmaker)
    assert schedule is not None
    delay_s = (schedule.next_run_at - clock.now).total_seconds()
    assert 54 <= delay_s <= 66
    assert await _next_run_at(sessionmaker) == schedule.next_run_at
    assert await _runs(sessionmaker) == []


async def test_a_due_periodic_run_is_queued_once_and_the_next_one_set(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """Nothing is queued before the time; at it, one `schedule` run, and the time moves on."""
    scheduler = make_scheduler(sync_interval_seconds=60)
    woken: list[bool] = []
    scheduler.on_queued = lambda: woken.append(True)
    await scheduler.reset()
    first = await _schedule(sessionmaker)
    assert first is not None

    clock.advance(50)
    await scheduler.tick()
    assert await _runs(sessionmaker) == []

    clock.now = first.next_run_at
    await scheduler.tick()
    await scheduler.tick()  # the same moment again: nothing more

    (run,) = await _runs(sessionmaker)
    assert (run.trigger, run.status) == ("schedule", "queued")
    assert woken == [True]
    second = await _schedule(sessionmaker)
    assert second is not None
    assert 54 <= (second.next_run_at - clock.now).total_seconds() <= 66


async def test_a_periodic_trigger_joins_a_waiting_manual_run(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """A periodic run that comes due while a manual run waits is coalesced into it."""
    scheduler = make_scheduler(sync_interval_seconds=60)
    await scheduler.reset()
    async with sessionmaker.begin() as session:
        manual = await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=0)
    clock.advance(120)
    await scheduler.tick()

    assert [(r.id, r.trigger) for r in await _runs(sessionmaker)] == [(manual.id, "manual")]


async def test_a_periodic_trigger_during_a_run_queues_one_follow_up(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """While a run is running, periodic triggers add one queued follow-up, not one each."""
    scheduler = make_scheduler(sync_interval_seconds=1)
    await scheduler.reset()
    async with sessionmaker.begin() as session:
        await runs.create_run(
            session, connection_id=DEFAULT_CONNECTION_ID, trigger="cli", status=RunStatus.RUNNING
        )
    for _ in range(3):
        clock.advance(2)
        await scheduler.tick()

    statuses = [(r.trigger, r.status) for r in await _runs(sessionmaker)]
    assert statuses == [("cli", "running"), ("schedule", "queued")]


async def test_a_due_time_can_be_claimed_only_once(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """Of two schedulers that saw the same due time, only the first claim moves it on."""
    await make_scheduler(sync_interval_seconds=60).reset()
    seen = await _schedule(sessionmaker)
    assert seen is not None
    claims = []
    for _ in range(2):
        async with sessionmaker.begin() as session:
            claims.append(
                await schedules.claim(
                    session,
                    connection_id=DEFAULT_CONNECTION_ID,
                    due_at=seen.next_run_at,
                    next_run_at=seen.next_run_at + timedelta(seconds=60),
                    interval_s=60,
                    now=clock.now,
                )
            )
    assert claims == [True, False]


async def test_next_run_at_is_the_earliest_of_periodic_and_queued_runs(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """The status shows a delayed run due before the periodic one, and the periodic one
    when the delayed one is due later."""
    await make_scheduler(sync_interval_seconds=600).reset()
    periodic = await _schedule(sessionmaker)
    assert periodic is not None

    async def delayed(delay_s: float) -> SyncRun:
        async with sessionmaker.begin() as session:
            return await service.queue_run(
                session,
                tenant_id=DEFAULT_TENANT_ID,
                list_id=None,
                delay_s=delay_s,
                dry_run=True,
                allow_mass_delete=False,
            )

    late = await delayed(3_600)
    assert await _next_run_at(sessionmaker) == periodic.next_run_at
    soon = await delayed(30)
    assert soon.id != late.id
    assert await _next_run_at(sessionmaker) == soon.run_after


async def test_interval_zero_turns_the_scheduler_off(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """With SYNC_INTERVAL_SECONDS=0 a former schedule is dropped and nothing is queued."""
    await make_scheduler(sync_interval_seconds=60).reset()
    off = make_scheduler(sync_interval_seconds=0)
    await off.reset()
    clock.advance(3_600)
    await off.tick()

    assert await _schedule(sessionmaker) is None
    assert await _next_run_at(sessionmaker) is None
    assert await _runs(sessionmaker) == []


async def test_adaptive_mode_shortens_the_interval_after_busy_runs(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """In adaptive mode, runs that changed many entities bring the next run to the minimum,
    and idle runs push it to the maximum."""
    settings = {
        "sync_interval_seconds": 60,
        "sync_interval_mode": "adaptive",
        "sync_interval_min_seconds": 5,
        "sync_interval_max_seconds": 300,
    }

    async def finished_run(changes: int) -> None:
        counts = {"local": {"created": changes, "updated": 0, "deleted": 0}, "remote": {}}
        async with sessionmaker.begin() as session:
            run = await runs.create_run(
                session,
                connection_id=DEFAULT_CONNECTION_ID,
                trigger="schedule",
                status=RunStatus.RUNNING,
            )
            await runs.finish_run(session, run.id, status="ok", counts=counts)

    await finished_run(changes=200)
    await make_scheduler(**settings).reset()
    busy = await _schedule(sessionmaker)
    assert busy is not None
    assert busy.interval_s == 5

    async with sessionmaker.begin() as session:
        await session.execute(sa.delete(SyncRun))
    await finished_run(changes=0)
    await make_scheduler(**settings).reset()
    idle = await _schedule(sessionmaker)
    assert idle is not None
    assert idle.interval_s == 300


async def test_housekeeping_marks_a_run_without_a_live_lease_abandoned(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A run left `running` with no lease behind it (its process died) ends `failed`."""
    async with sessionmaker.begin() as session:
        orphan = await runs.create_run(
            session,
            connection_id=DEFAULT_CONNECTION_ID,
            trigger="schedule",
            status=RunStatus.RUNNING,
        )
    await make_scheduler(sync_interval_seconds=60).housekeep()

    (run,) = await _runs(sessionmaker)
    assert (run.id, run.status) == (orphan.id, "failed")
    assert run.reason == runs.ABANDONED
    assert run.finished_at is not None


async def test_a_connection_added_after_start_gets_its_first_run_one_interval_later(
    make_scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """A tenant's connection created while the scheduler runs is scheduled on the next step,
    one interval ahead, without queueing anything yet."""
    scheduler = make_scheduler(sync_interval_seconds=60)
    await scheduler.reset()
    async with sessionmaker.begin() as session:
        tenant = Tenant(name="late")
        session.add(tenant)
        await session.flush()
        connection = Connection(tenant_id=tenant.id, name="late")
        session.add(connection)
        await session.flush()
        connection_id = connection.id
    clock.advance(10)
    await scheduler.tick()

    async with sessionmaker() as session:
        schedule = await session.get(SyncSchedule, connection_id)
    assert schedule is not None
    assert 54 <= (schedule.next_run_at - clock.now).total_seconds() <= 66
    assert await _runs(sessionmaker) == []
