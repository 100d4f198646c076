"""Sync runs and conflict resolutions append their events with the change: in bulk, with
the run (or the conflict) as actor, and the remote time as valid time."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.history.events import all_events, count_event_inserts
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide
from todosync.store.models import DEFAULT_TENANT_ID as TENANT
from todosync.sync import service as sync_service


def _remote_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_first_import_appends_its_events_in_one_statement_per_batch(
    fake_external: FakeExternal, run_sync: RunSync, engine: AsyncEngine
) -> None:
    """Forty entities imported in one batch: one INSERT of forty events, by the run."""
    remote = [
        fake_external.create_list(f"L{n}", items=[f"i{n}.{i}" for i in range(9)]) for n in range(4)
    ]

    with count_event_inserts(engine) as inserts:
        report = await run_sync()

    assert report.status == "ok", report.errors
    assert inserts == [40]
    events = await all_events(engine)
    assert {(e.operation, e.actor_kind, e.actor_id) for e in events} == {
        ("created", "sync", report.run_id)
    }
    lists = {e.after["name"]: e for e in events if e.kind == "list" and e.after}
    assert lists["L0"].valid_at == _remote_time(remote[0]["updated_at"])
    assert all(e.recorded_at >= e.valid_at for e in events)


async def test_pulled_updates_and_deletes_carry_before_and_after(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync, engine: AsyncEngine
) -> None:
    """A remote rename is an `updated` event from the old name to the new, at the remote
    time; a remote delete tombstones the list and its item with `deleted` events."""
    remote = fake_external.create_list("Old", items=["milk"])
    fake_external.create_list("Keep")  # an emptied remote would hold the run
    await run_sync()
    renamed = fake_external.update_list(remote["id"], name="New")
    await run_sync()
    fake_external.delete_list(remote["id"])
    report = await run_sync()

    events = [e for e in await all_events(engine) if e.operation != "created"]

    assert [(e.kind, e.operation, e.before, e.after) for e in events] == [
        ("list", "updated", {"name": "Old"}, {"name": "New"}),
        ("list", "deleted", {"name": "New"}, None),
        ("item", "deleted", {"description": "milk", "completed": False}, None),
    ]
    assert events[0].valid_at == _remote_time(renamed["updated_at"])
    assert events[-1].actor_id == report.run_id


async def test_a_conflict_resolution_is_an_event_of_the_conflict(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Resolving with a chosen value writes a new version whose actor is the conflict."""
    list_id = await local.create_list("Base")
    await run_sync()
    remote_id = fake_external.state()[0]["id"]
    fake_external.update_list(remote_id, name="Remote")
    await asyncio.sleep(0.005)  # the local rename is the later write
    await local.rename_list(list_id, "Local")
    await run_sync()
    (conflict,) = await local.conflicts()

    async with sessionmaker.begin() as session:
        await sync_service.resolve_conflict(
            session, conflict.id, tenant_id=TENANT, choice="value", value="Chosen"
        )

    last = (await all_events(engine))[-1]
    assert (last.operation, last.before, last.after) == (
        "updated",
        {"name": "Local"},
        {"name": "Chosen"},
    )
    assert (last.actor_kind, last.actor_id) == ("conflict", conflict.id)
