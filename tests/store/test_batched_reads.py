"""The batched reads behind GraphQL's DataLoaders: the first items of many lists, and many
lists by id, each in one query and within one tenant's live rows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.api import TenantToken
from tests.fixtures.store import make_item, make_list
from todosync.store import service


async def test_items_of_lists_pages_each_list(session: AsyncSession) -> None:
    """Each list gets its own page (with `last_id` when more follow); deleted items and
    lists, and unknown ids, get nothing."""
    first = await make_list(session, name="One")
    second = await make_list(session, name="Two")
    gone = await make_list(session, name="Gone")
    items = [await make_item(session, todo_list=first, description=t) for t in "abc"]
    await make_item(session, todo_list=gone)
    deleted = await make_item(session, todo_list=second, description="deleted")
    await service.delete_item(session, deleted.id, tenant_id=1, list_id=second.id)
    await service.delete_list(session, gone.id, tenant_id=1)
    await session.commit()
    ids = [first.id, second.id, gone.id, 424242]
    pages = await service.items_of_lists(session, ids, tenant_id=1, after_id=0, limit=2)
    assert [row.description for row in pages[first.id].rows] == ["a", "b"]
    assert pages[first.id].last_id == items[1].id
    for list_id in ids[1:]:
        assert (list(pages[list_id].rows), pages[list_id].last_id) == ([], None)
    later = await service.items_of_lists(
        session, [first.id], tenant_id=1, after_id=items[1].id, limit=2
    )
    assert [row.description for row in later[first.id].rows] == ["c"]
    assert later[first.id].last_id is None


async def test_batched_reads_stay_in_the_tenant(
    session: AsyncSession, other_tenant: TenantToken
) -> None:
    """Another tenant's list and its items are not found by id."""
    theirs = await make_list(session, tenant_id=other_tenant.tenant_id, name="Theirs")
    await make_item(session, todo_list=theirs)
    pages = await service.items_of_lists(session, [theirs.id], tenant_id=1, after_id=0, limit=5)
    assert list(pages[theirs.id].rows) == []
    assert await service.get_lists(session, [theirs.id], tenant_id=1) == {}
    found = await service.get_lists(session, [theirs.id], tenant_id=other_tenant.tenant_id)
    assert list(found) == [theirs.id]
