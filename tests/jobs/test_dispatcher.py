"""The dispatcher's cooperative stop: the action in flight finishes, nothing stays running."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.fixtures.store import queue_plain_run
from tests.sync.harness import LocalSide
from todosync import config
from todosync.jobs.dispatcher import Dispatcher
from todosync.store.models import DEFAULT_TENANT_ID
from todosync.sync.books.models import SyncLease, SyncRun

WAIT_S = 20.0


async def _start_a_run_that_pauses_in_its_first_push(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: config.Settings,
    local: LocalSide,
    fake_external: FakeExternal,
) -> tuple[Dispatcher, int]:
    """Three new local lists to push one at a time; the fake holds the first POST's answer."""
    for name in ("One", "Two", "Three"):
        await local.create_list(name)
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"])])
    async with sessionmaker.begin() as session:
        run = await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=0)
    dispatcher = Dispatcher(
        sessionmaker=sessionmaker, settings=settings.model_copy(update={"push_concurrency": 1})
    )
    await dispatcher.start()
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while fake_external.request_count("POST") < 1:
        assert asyncio.get_running_loop().time() < deadline, "no push started"
        await asyncio.sleep(0.02)
    return dispatcher, run.id


async def _rows(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[SyncRun, Sequence[SyncLease]]:
    async with sessionmaker() as session:
        (run,) = (await session.execute(sa.select(SyncRun))).scalars().all()
        leases = (await session.execute(sa.select(SyncLease))).scalars().all()
        return run, leases


async def test_a_stop_lets_the_current_action_finish_and_records_why_the_run_ended(
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
    local: LocalSide,
    fake_external: FakeExternal,
) -> None:
    """Stopped mid-run, the push in flight completes, the rest waits, the run ends `partial`
    saying so, and the lease is released."""
    dispatcher, run_id = await _start_a_run_that_pauses_in_its_first_push(
        sessionmaker, sync_settings, local, fake_external
    )
    dispatcher.request_stop()
    # in a thread: the push runs on this event loop, and may still be sending its body
    assert await asyncio.to_thread(fake_external.release_once_held) == 1
    await dispatcher.stop(timeout_s=WAIT_S)

    run, leases = await _rows(sessionmaker)
    assert run.id == run_id
    assert run.status == "partial"
    assert run.reason is not None
    assert "stopped by shutdown" in run.reason
    assert run.counts["remote"]["created"] == 1
    assert leases == []
    assert fake_external.request_count("POST") == 1
    assert len(fake_external.state()) == 1


async def test_a_run_that_outlasts_the_shutdown_timeout_is_cancelled_and_marked_failed(
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
    local: LocalSide,
    fake_external: FakeExternal,
) -> None:
    """A run stuck past the timeout is cancelled, recorded `failed` as interrupted, and its
    lease released."""
    dispatcher, run_id = await _start_a_run_that_pauses_in_its_first_push(
        sessionmaker, sync_settings, local, fake_external
    )
    await dispatcher.stop(timeout_s=0.2)

    run, leases = await _rows(sessionmaker)
    assert (run.id, run.status) == (run_id, "failed")
    assert run.reason is not None
    assert "interrupted by shutdown" in run.reason
    assert run.finished_at is not None
    assert leases == []


async def test_no_queued_run_starts_once_a_stop_is_requested(
    sessionmaker: async_sessionmaker[AsyncSession], sync_settings: config.Settings
) -> None:
    """After `request_stop()`, due runs stay queued for the next start."""
    async with sessionmaker.begin() as session:
        await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=0)
    dispatcher = Dispatcher(sessionmaker=sessionmaker, settings=sync_settings)
    dispatcher.request_stop()

    assert await dispatcher.run_due() == 0
    run, _ = await _rows(sessionmaker)
    assert run.status == "queued"
