"""Every store write appends its event in the same transaction; writes that write nothing
append nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.history.events import all_events
from todosync.errors import ConflictError
from todosync.history.record import Actor
from todosync.store import service
from todosync.store.models import DEFAULT_TENANT_ID as TENANT


async def test_list_and_item_writes_append_one_event_each(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Create, rename, add, complete and delete leave their events with before and after."""
    actor = Actor("api", 7)
    async with sessionmaker.begin() as session:
        todo = await service.create_list(session, tenant_id=TENANT, name="A", actor=actor)
        item = await service.create_item(
            session, tenant_id=TENANT, list_id=todo.id, description="x", actor=actor
        )
    async with sessionmaker.begin() as session:
        await service.update_list(session, todo.id, tenant_id=TENANT, name="B", actor=actor)
        await service.update_item(
            session, item.id, tenant_id=TENANT, list_id=todo.id, completed=True, actor=actor
        )
    async with sessionmaker.begin() as session:
        await service.delete_list(session, todo.id, tenant_id=TENANT, actor=actor)

    events = await all_events(engine)

    assert [(e.kind, e.entity_id, e.operation, e.before, e.after) for e in events] == [
        ("list", todo.id, "created", None, {"name": "A"}),
        ("item", item.id, "created", None, {"description": "x", "completed": False}),
        ("list", todo.id, "updated", {"name": "A"}, {"name": "B"}),
        ("item", item.id, "updated", {"completed": False}, {"completed": True}),
        ("list", todo.id, "deleted", {"name": "B"}, None),
        ("item", item.id, "deleted", {"description": "x", "completed": True}, None),
    ]
    assert {(e.actor_kind, e.actor_id, e.tenant_id) for e in events} == {("api", 7, TENANT)}
    assert [e.list_id for e in events if e.kind == "item"] == [todo.id] * 3
    assert all(e.valid_at == e.recorded_at for e in events)


async def test_a_write_that_changes_nothing_or_fails_appends_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A no-op update and a refused conditional write leave the history as it was."""
    async with sessionmaker.begin() as session:
        todo = await service.create_list(session, tenant_id=TENANT, name="A")
    async with sessionmaker.begin() as session:
        await service.update_list(session, todo.id, tenant_id=TENANT, name="A")
    with pytest.raises(ConflictError):
        async with sessionmaker.begin() as session:
            await service.update_list(
                session, todo.id, tenant_id=TENANT, name="B", expected_version=9
            )

    assert [e.operation for e in await all_events(engine)] == ["created"]


async def test_a_rolled_back_write_takes_its_event_with_it(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """The event lives in the write's transaction: a rollback leaves neither."""
    async with sessionmaker() as session:
        await service.create_list(session, tenant_id=TENANT, name="A")
        await session.rollback()

    assert await all_events(engine) == []
