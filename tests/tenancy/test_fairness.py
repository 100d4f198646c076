"""Scheduling across tenants: a connection whose external API hangs holds one slot of
`TODOSYNC_MAX_CONCURRENT_RUNS` and no more, and the others' runs go on meanwhile.

Proved by order and counts, not by wall-clock thresholds: while the hanging connection's
first run is still `running` (its one request held by the fake), the healthy connections
finish run after run, and its own second run waits, queued, for its first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.fixtures.fake_process import fake_process
from tests.fixtures.store import queue_plain_run
from todosync import config
from todosync.jobs.dispatcher import Dispatcher
from todosync.sync.books.models import SyncRun
from todosync.tenancy import connections
from todosync.tenancy import service as tenancy
from todosync.tenancy.secrets import SecretBox, new_key

T = TypeVar("T")
WAIT_S = 60.0
ROUNDS = 3


async def _eventually(check: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while (found := await check()) is None:
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found


async def _connect(
    sessionmaker: async_sessionmaker[AsyncSession], box: SecretBox, name: str, fake: FakeExternal
) -> tuple[int, int]:
    """(tenant id, connection id) of a new tenant connected to `fake`."""
    async with sessionmaker.begin() as session:
        tenant_id = await tenancy.create_tenant(session, name=name)
        connection_id = await connections.create_connection(
            session, box=box, tenant=name, url=fake.url, token=SecretStr(fake.token or "")
        )
    return tenant_id, connection_id


async def _queue(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int) -> int:
    async with sessionmaker.begin() as session:
        run = await queue_plain_run(session, tenant_id=tenant_id, delay_s=0)
    return run.id


async def _status(sessionmaker: async_sessionmaker[AsyncSession], run_id: int) -> str:
    async with sessionmaker() as session:
        statement = sa.select(SyncRun.status).where(SyncRun.id == run_id)
        return (await session.execute(statement)).scalar_one()


async def test_a_hanging_external_api_holds_one_slot_and_never_delays_the_others(
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    fake_external: FakeExternal,
    tmp_path: Path,
) -> None:
    """Two slots, three tenants: `stuck`'s API holds every request; `north` and `south` share
    the one slot left and each finish every run queued after `stuck`'s, while `stuck`'s first
    run is still running and its second stays queued behind it."""
    settings = config.Settings(
        database_url=database_url,
        secret_key=SecretStr(new_key()),
        max_concurrent_runs=2,
        external_read_timeout_seconds=600,  # the hang outlasts the test
        sync_interval_seconds=0,
    )
    box = SecretBox.from_settings(settings)
    fake_external.set_faults([FaultRule(kind="timeout", methods=["GET"])])  # held until released
    with (
        fake_process(tmp_path, token="north-token") as north_fake,
        fake_process(tmp_path, token="south-token") as south_fake,
    ):
        north_fake.create_list("North list", items=["n1"])
        south_fake.create_list("South list", items=["s1"])
        stuck, _ = await _connect(sessionmaker, box, "stuck", fake_external)
        north, _ = await _connect(sessionmaker, box, "north", north_fake)
        south, _ = await _connect(sessionmaker, box, "south", south_fake)
        async with sessionmaker.begin() as session:
            await connections.disable_connection(session, connection_id=1)  # not in this test

        dispatcher = Dispatcher(sessionmaker=sessionmaker, settings=settings, poll_interval_s=0.1)
        await dispatcher.start()
        try:
            stuck_first = await _queue(sessionmaker, stuck)

            async def stuck_is_held() -> bool | None:
                return fake_external.request_count("GET") == 1 or None

            await _eventually(stuck_is_held, what="the stuck connection's pull to be held")
            stuck_second = await _queue(sessionmaker, stuck)
            for round_ in range(ROUNDS):
                healthy = [await _queue(sessionmaker, north), await _queue(sessionmaker, south)]
                dispatcher.wake()
                for run_id in healthy:

                    async def finished(run_id: int = run_id) -> str | None:
                        status = await _status(sessionmaker, run_id)
                        return status if status not in ("queued", "running") else None

                    assert await _eventually(finished, what=f"round {round_}") == "ok"
                assert dispatcher.running <= settings.max_concurrent_runs

            assert await _status(sessionmaker, stuck_first) == "running"
            assert await _status(sessionmaker, stuck_second) == "queued"
            assert fake_external.request_count("GET") == 1  # no second run of it started
            assert {lst["name"] for lst in north_fake.state()} == {"North list"}
            assert north_fake.request_count("GET") == ROUNDS
            assert south_fake.request_count("GET") == ROUNDS
        finally:
            await dispatcher.stop(timeout_s=0.5)
