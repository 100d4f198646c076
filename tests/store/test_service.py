"""The store service, the one writer of lists and items: versions, tombstones, guards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.fixtures.api import make_tenant_token
from tests.fixtures.store import load, make_item, make_list
from todosync.clock import utc_now
from todosync.errors import ConflictError, NotFoundError, ValidationFailed
from todosync.store import service
from todosync.store.models import DEFAULT_TENANT_ID, TodoItem, TodoList

TENANT = DEFAULT_TENANT_ID


async def test_create_starts_at_version_one_with_equal_timestamps(session: AsyncSession) -> None:
    """A new list and item are at version 1, created and updated at the same instant."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    for row in (todo, item):
        assert row.version == 1
        assert row.created_at == row.updated_at
        assert row.deleted_at is None
        assert len(row.uid) == 36


async def test_every_write_bumps_version_once_and_moves_updated_at(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    """Each update that changes something adds exactly one to `version`."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    await service.update_list(session, todo.id, tenant_id=TENANT, name="Renamed")
    await service.update_item(
        session,
        tenant_id=TENANT,
        list_id=todo.id,
        item_id=item.id,
        description="New",
        completed=True,
    )
    await session.commit()
    stored_list = await load(engine, TodoList, todo.id)
    stored_item = await load(engine, TodoItem, item.id)
    assert (stored_list.version, stored_item.version) == (2, 2)
    assert stored_list.updated_at > stored_list.created_at
    assert (stored_item.description, stored_item.completed) == ("New", True)


async def test_no_op_update_writes_nothing(session: AsyncSession, engine: AsyncEngine) -> None:
    """Updating with no values, or the current values, leaves version and updated_at alone."""
    todo = await make_list(session, name="Same")
    item = await make_item(session, todo_list=todo, description="Same")
    await service.update_list(session, todo.id, tenant_id=TENANT)
    await service.update_list(session, todo.id, tenant_id=TENANT, name="Same")
    await service.update_item(
        session,
        tenant_id=TENANT,
        list_id=todo.id,
        item_id=item.id,
        description="Same",
        completed=False,
    )
    await session.commit()
    assert (await load(engine, TodoList, todo.id)).version == 1
    stored_item = await load(engine, TodoItem, item.id)
    assert (stored_item.version, stored_item.updated_at) == (1, item.updated_at)


async def test_delete_list_tombstones_its_live_items_only(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    """A list delete marks the list and its live items; an already deleted item is untouched."""
    todo = await make_list(session)
    kept_elsewhere = await make_item(session, todo_list=await make_list(session, name="Other"))
    live = await make_item(session, todo_list=todo)
    earlier = await make_item(session, todo_list=todo)
    await service.delete_item(session, earlier.id, tenant_id=TENANT, list_id=todo.id)
    await session.commit()
    await service.delete_list(session, todo.id, tenant_id=TENANT)
    await session.commit()
    stored = {row_id: await load(engine, TodoItem, row_id) for row_id in (live.id, earlier.id)}
    stored_list = await load(engine, TodoList, todo.id)
    assert stored_list.deleted_at is not None
    assert stored_list.version == 2
    assert stored[live.id].deleted_at == stored_list.deleted_at
    assert stored[live.id].version == 2
    assert stored[earlier.id].version == 2  # deleted once, not again
    assert stored[earlier.id].deleted_at != stored_list.deleted_at
    assert (await load(engine, TodoItem, kept_elsewhere.id)).deleted_at is None


async def test_tombstones_are_invisible(session: AsyncSession) -> None:
    """Deleted rows are NotFound for every read and write, and missing from pages."""
    todo = await make_list(session)
    list_id, item_id = todo.id, (await make_item(session, todo_list=todo)).id
    await service.delete_list(session, list_id, tenant_id=TENANT)
    await session.commit()
    with pytest.raises(NotFoundError):
        await service.get_list(session, list_id, tenant_id=TENANT)
    with pytest.raises(NotFoundError):
        await service.get_item(session, item_id, tenant_id=TENANT, list_id=list_id)
    with pytest.raises(NotFoundError):
        await service.update_list(session, list_id, tenant_id=TENANT, name="x")
    with pytest.raises(NotFoundError):
        await service.create_item(session, tenant_id=TENANT, list_id=list_id, description="x")
    assert (await service.list_lists(session, tenant_id=TENANT, limit=10)).rows == []
    await session.rollback()


async def test_expected_version_guards_against_lost_updates(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    """A write that names a stale version raises ConflictError and changes nothing."""
    todo = await make_list(session)
    list_id, item_id = todo.id, (await make_item(session, todo_list=todo)).id
    await service.update_list(session, list_id, tenant_id=TENANT, name="API edit")
    await session.commit()
    with pytest.raises(ConflictError):
        await service.update_list(
            session, list_id, tenant_id=TENANT, name="sync edit", expected_version=1
        )
    await session.rollback()
    with pytest.raises(ConflictError):
        await service.delete_item(
            session, tenant_id=TENANT, list_id=list_id, item_id=item_id, expected_version=7
        )
    await session.rollback()
    renamed = await service.update_list(
        session, list_id, tenant_id=TENANT, name="sync edit", expected_version=2
    )
    await session.commit()
    assert renamed.version == 3
    assert (await load(engine, TodoItem, item_id)).deleted_at is None


async def test_other_tenants_rows_are_not_found(session: AsyncSession, engine: AsyncEngine) -> None:
    """A tenant cannot reach another tenant's list or item through any function."""
    other = await make_tenant_token(engine, name="other")
    todo = await make_list(session, tenant_id=other.tenant_id)
    list_id, item_id = todo.id, (await make_item(session, todo_list=todo)).id
    calls = [
        service.get_list(session, list_id, tenant_id=TENANT),
        service.update_list(session, list_id, tenant_id=TENANT, name="x"),
        service.delete_list(session, list_id, tenant_id=TENANT),
        service.list_items(session, tenant_id=TENANT, list_id=list_id, limit=5),
        service.get_item(session, item_id, tenant_id=TENANT, list_id=list_id),
        service.update_item(
            session, tenant_id=TENANT, list_id=list_id, item_id=item_id, completed=True
        ),
        service.delete_item(session, item_id, tenant_id=TENANT, list_id=list_id),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            await call
    await session.rollback()
    assert (await load(engine, TodoList, list_id)).version == 1
    assert (await load(engine, TodoItem, item_id)).version == 1


@pytest.mark.parametrize("text", ["", "x" * 10_001, "nul \x00", "lone \ud800"])
async def test_unstorable_text_is_refused(session: AsyncSession, text: str) -> None:
    """Empty, too long, NUL or lone-surrogate text raises ValidationFailed before any write."""
    list_id = (await make_list(session)).id
    with pytest.raises(ValidationFailed):
        await service.create_item(session, tenant_id=TENANT, list_id=list_id, description=text)
    if len(text) <= 1000:
        with pytest.raises(ValidationFailed):
            await service.create_list(session, tenant_id=TENANT, name=text)
    await session.rollback()


async def test_pages_report_where_the_next_starts(session: AsyncSession) -> None:
    """A full page carries the last id; the final page carries None."""
    ids = [(await make_list(session, name=str(n))).id for n in range(5)]
    first = await service.list_lists(session, tenant_id=TENANT, limit=3)
    assert [row.id for row in first.rows] == ids[:3]
    assert first.last_id == ids[2]
    rest = await service.list_lists(session, tenant_id=TENANT, after_id=ids[2], limit=3)
    assert [row.id for row in rest.rows] == ids[3:]
    assert rest.last_id is None
    await session.rollback()


async def test_items_of_a_deleted_list_are_not_found_and_the_list_is_named(
    session: AsyncSession,
) -> None:
    """An item that is live itself but whose list is a tombstone is unreachable, and the
    error says that the list is missing (the item queries check the list in one statement)."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    await session.execute(
        sa.update(TodoList).where(TodoList.id == todo.id).values(deleted_at=utc_now())
    )
    calls = [
        service.get_item(session, item.id, tenant_id=TENANT, list_id=todo.id),
        service.update_item(session, item.id, tenant_id=TENANT, list_id=todo.id, completed=True),
        service.list_items(session, tenant_id=TENANT, list_id=todo.id, limit=5),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match=f"list {todo.id} not found"):
            await call
    await session.rollback()


async def test_a_missing_item_of_a_live_list_names_the_item(session: AsyncSession) -> None:
    """An unknown item of a live list is an item error, and an empty live list an empty page."""
    todo = await make_list(session)
    with pytest.raises(NotFoundError, match="item 999 not found"):
        await service.get_item(session, 999, tenant_id=TENANT, list_id=todo.id)
    page = await service.list_items(session, tenant_id=TENANT, list_id=todo.id, limit=5)
    assert (list(page.rows), page.last_id) == ([], None)
    unknown = todo.id + 1_000
    with pytest.raises(NotFoundError, match=f"list {unknown} not found"):
        await service.list_items(session, tenant_id=TENANT, list_id=unknown, limit=5)
    await session.rollback()


async def test_item_pages_are_rows_of_the_response_columns(session: AsyncSession) -> None:
    """A page of items carries exactly the fields that the API shows, by id."""
    todo = await make_list(session)
    first = await make_item(session, todo_list=todo, description="a")
    await make_item(session, todo_list=todo, description="b", completed=True)
    page = await service.list_items(session, tenant_id=TENANT, list_id=todo.id, limit=1)
    assert page.last_id == first.id
    (row,) = page.rows
    assert row._asdict() == {
        "id": first.id,
        "list_id": todo.id,
        "description": "a",
        "completed": False,
        "created_at": first.created_at,
        "updated_at": first.updated_at,
    }
    await session.rollback()
