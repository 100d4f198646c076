"""The event bus behind `/api/events`: in-process fan-out, and on PostgreSQL across
connections through `LISTEN/NOTIFY`, per tenant, in order, with `resync` when events are lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from todosync.observe import events


async def _take(subscription: events.Subscription, n: int) -> list[events.Event]:
    async with asyncio.timeout(30):  # a deadline for delivery, not a timing assertion
        return [await subscription.get() for _ in range(n)]


@pytest.fixture
async def bus(database_url: str) -> AsyncIterator[events.EventBus]:
    """The bus `serve` would use for the test database (PostgreSQL or local)."""
    found = events.create_bus(database_url)
    await found.start()
    yield found
    await found.aclose()


async def test_events_arrive_in_order_for_their_tenant_only(bus: events.EventBus) -> None:
    """Each subscriber gets its tenant's events in publishing order and no one else's."""
    with bus.subscribe(1) as ours, bus.subscribe(2) as theirs:
        for n in range(50):
            bus.publish(events.Event("run.progress", 1 + n % 2, {"done": n}))
        mine = await _take(ours, 25)
        other = await _take(theirs, 25)
    assert [e.data["done"] for e in mine] == list(range(0, 50, 2))
    assert [e.data["done"] for e in other] == list(range(1, 50, 2))
    assert {e.tenant_id for e in mine} == {1}


async def test_a_publisher_elsewhere_reaches_listeners(
    database_url: str, is_postgres: bool
) -> None:
    """On PostgreSQL a publish-only bus (another process's) reaches a listening bus."""
    if not is_postgres:
        pytest.skip("across connections only through PostgreSQL's LISTEN/NOTIFY")
    listener = events.create_bus(database_url)
    publisher = events.create_bus(database_url, listen=False)
    await listener.start()
    await publisher.start()
    try:
        with listener.subscribe(1) as subscription:
            for n in range(3):
                publisher.publish(events.Event("entity.changed", 1, {"id": n}))
            await publisher.aclose()  # sends what is queued first
            received = await _take(subscription, 3)
    finally:
        await listener.aclose()
    assert [e.data for e in received] == [{"id": 0}, {"id": 1}, {"id": 2}]


async def test_a_slow_reader_gets_a_resync_instead_of_unbounded_memory() -> None:
    """A subscriber whose queue is full loses what waits and is told to resync."""
    bus = events.LocalBus()
    with bus.subscribe(1) as subscription:
        for n in range(events.SUBSCRIBER_QUEUE + 1):
            bus.publish(events.Event("run.progress", 1, {"done": n}))
        (first,) = await _take(subscription, 1)
    assert first.kind == "resync"


def test_an_oversized_event_becomes_a_resync() -> None:
    """An event too large for a NOTIFY payload is sent as a `resync` for its tenant."""
    event = events.Event("entity.changed", 3, {"ids": list(range(5_000))})
    decoded = events.Event.from_json(event.to_json())
    assert decoded == events.Event("resync", 3, {"reason": "event too large"})


def test_foreign_payloads_are_ignored() -> None:
    """A NOTIFY on our channel that is not one of our events decodes to nothing."""
    assert events.Event.from_json("hello") is None
    assert events.Event.from_json('{"kind": "x"}') is None


async def test_a_lost_listener_reconnects_and_says_resync(
    database_url: str, is_postgres: bool, blocking_engine: sa.Engine
) -> None:
    """When the LISTEN connection dies, the bus listens again, tells every stream to resync,
    and delivers what is published afterwards."""
    if not is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    bus = events.PostgresBus(events.conninfo(database_url), reconnect_s=0.05)
    await bus.start()
    try:
        with bus.subscribe(1) as subscription:
            with blocking_engine.begin() as connection:
                killed = connection.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = 'todosync-events-listen'"
                        " AND datname = current_database()"
                    )
                ).scalar_one()
            assert killed >= 1
            (resync,) = await _take(subscription, 1)
            bus.publish(events.Event("entity.changed", 1, {"id": 1}))
            (after,) = await _take(subscription, 1)
    finally:
        await bus.aclose()
    assert resync.kind == "resync"
    assert after.data == {"id": 1}
