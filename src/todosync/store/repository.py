"""Every query on todo lists and items. Reads see only live rows (no tombstones) of one tenant,
except `is_tenants`, which asks whether a row, tombstones included, is the tenant's at all.

Functions here flush but never commit. `for_update=True` locks the row (PostgreSQL; SQLite's
`BEGIN IMMEDIATE` already serialises writers) so that a read-then-write cannot lose an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.store.models import TodoItem, TodoList

__all__ = [
    "MAX_ID",
    "ItemRow",
    "first_items_of_lists",
    "get_item",
    "get_list",
    "get_lists",
    "insert_item",
    "insert_list",
    "is_tenants",
    "page_items",
    "page_lists",
    "soft_delete_item",
    "soft_delete_list",
    "update_row",
]

T = TypeVar("T")

# The largest id a BIGINT column holds; larger ids cannot exist and are never sent to the database.
MAX_ID = 2**63 - 1

# An item as the API shows it, read as a plain row (no ORM instance: pages are read-only).
ItemRow = sa.Row[int, int, str, bool, datetime, datetime]
_ITEM_COLUMNS = (
    TodoItem.id,
    TodoItem.list_id,
    TodoItem.description,
    TodoItem.completed,
    TodoItem.created_at,
    TodoItem.updated_at,
)

# The hot statements are built once, with named parameters: building a statement costs more
# CPU than running a cached one. `_LIST_IS_LIVE` gates item queries on their list being the
# tenant's live list, in the same statement (an uncorrelated EXISTS, evaluated once), which
# saves a round trip per request.
_TENANT_ID: sa.BindParameter[int] = sa.bindparam("tenant_id")
_LIST_ID: sa.BindParameter[int] = sa.bindparam("list_id")
_ITEM_ID: sa.BindParameter[int] = sa.bindparam("item_id")
_LIST_IS_LIVE = (
    sa.exists()
    .where(TodoList.id == _LIST_ID, TodoList.tenant_id == _TENANT_ID, TodoList.deleted_at.is_(None))
    .correlate_except(TodoList)
)
_LIVE_ITEMS_OF_LIST = (
    TodoItem.list_id == _LIST_ID,
    TodoItem.tenant_id == _TENANT_ID,
    TodoItem.deleted_at.is_(None),
    _LIST_IS_LIVE,
)
_PAGE_ITEMS = (
    sa.select(*_ITEM_COLUMNS)
    .where(*_LIVE_ITEMS_OF_LIST, TodoItem.id > sa.bindparam("after_id"))
    .order_by(TodoItem.id)
    .limit(sa.bindparam("limit"))
)
_GET_ITEM = sa.select(TodoItem).where(TodoItem.id == _ITEM_ID, *_LIVE_ITEMS_OF_LIST)
_LOCK_ITEM = _GET_ITEM.with_for_update(of=TodoItem).execution_options(populate_existing=True)


def _lock(statement: sa.Select[T], *, for_update: bool) -> sa.Select[T]:
    if not for_update:
        return statement
    return statement.with_for_update().execution_options(populate_existing=True)


async def get_list(
    session: AsyncSession, *, tenant_id: int, list_id: int, for_update: bool = False
) -> TodoList | None:
    """The tenant's live list with this id, if there is one."""
    if not 1 <= list_id <= MAX_ID:
        return None
    statement = sa.select(TodoList).where(
        TodoList.id == list_id, TodoList.tenant_id == tenant_id, TodoList.deleted_at.is_(None)
    )
    return (await session.execute(_lock(statement, for_update=for_update))).scalar_one_or_none()


async def get_lists(
    session: AsyncSession, *, tenant_id: int, list_ids: Sequence[int]
) -> Sequence[TodoList]:
    """The tenant's live lists among `list_ids`, in one query."""
    statement = sa.select(TodoList).where(
        TodoList.id.in_([i for i in list_ids if 1 <= i <= MAX_ID]),
        TodoList.tenant_id == tenant_id,
        TodoList.deleted_at.is_(None),
    )
    return (await session.execute(statement)).scalars().all()


async def is_tenants(session: AsyncSession, *, tenant_id: int, kind: str, entity_id: int) -> bool:
    """Whether the list or item (`kind`) with this id is the tenant's, deleted or not."""
    if not 1 <= entity_id <= MAX_ID:
        return False
    model: type[TodoList | TodoItem] = TodoList if kind == "list" else TodoItem
    statement = sa.select(model.id).where(model.id == entity_id, model.tenant_id == tenant_id)
    return (await session.execute(statement)).first() is not None


async def page_lists(
    session: AsyncSession, *, tenant_id: int, after_id: int, limit: int
) -> Sequence[TodoList]:
    """Up to `limit` of the tenant's live lists with ids above `after_id`, by id."""
    statement = (
        sa.select(TodoList)
        .where(TodoList.tenant_id == tenant_id, TodoList.deleted_at.is_(None))
        .where(TodoList.id > after_id)
        .order_by(TodoList.id)
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def insert_list(
    session: AsyncSession, *, tenant_id: int, name: str, now: datetime
) -> TodoList:
    """Inserts a list at version 1."""
    row = TodoList(tenant_id=tenant_id, name=name, version=1, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def get_item(
    session: AsyncSession,
    *,
    tenant_id: int,
    list_id: int,
    item_id: int,
    for_update: bool = False,
) -> TodoItem | None:
    """The tenant's live item with this id in this list, if there is one and the list is the
    tenant's live list."""
    if not (1 <= item_id <= MAX_ID and 1 <= list_id <= MAX_ID):
        return None
    statement = _LOCK_ITEM if for_update else _GET_ITEM
    params = {"item_id": item_id, "list_id": list_id, "tenant_id": tenant_id}
    return (await session.execute(statement, params)).scalar_one_or_none()


async def page_items(
    session: AsyncSession, *, tenant_id: int, list_id: int, after_id: int, limit: int
) -> Sequence[ItemRow]:
    """Up to `limit` live items of one list with ids above `after_id`, by id; none when the
    list is not the tenant's live list."""
    if not 1 <= list_id <= MAX_ID:
        return []
    params = {"tenant_id": tenant_id, "list_id": list_id, "after_id": after_id, "limit": limit}
    # Core rows through the session's connection: the ORM's execution layer adds nothing here.
    connection = await session.connection()
    return (await connection.execute(_PAGE_ITEMS, params)).all()


async def first_items_of_lists(
    session: AsyncSession, *, tenant_id: int, list_ids: Sequence[int], after_id: int, limit: int
) -> Sequence[ItemRow]:
    """Up to `limit` live items with ids above `after_id` of each of the tenant's live lists
    in `list_ids`, by list then id, in one statement (GraphQL's batched `items`)."""
    rank = (
        sa.func.row_number().over(partition_by=TodoItem.list_id, order_by=TodoItem.id).label("rank")
    )
    ranked = (
        sa.select(*_ITEM_COLUMNS, rank)
        .join(TodoList, TodoList.id == TodoItem.list_id)
        .where(
            TodoItem.list_id.in_([i for i in list_ids if 1 <= i <= MAX_ID]),
            TodoItem.tenant_id == tenant_id,
            TodoItem.deleted_at.is_(None),
            TodoItem.id > after_id,
            TodoList.tenant_id == tenant_id,
            TodoList.deleted_at.is_(None),
        )
        .subquery()
    )
    columns = [ranked.c[column.key] for column in _ITEM_COLUMNS]
    statement = (
        sa.select(*columns).where(ranked.c.rank <= limit).order_by(ranked.c.list_id, ranked.c.id)
    )
    connection = await session.connection()
    return (await connection.execute(statement)).all()


async def insert_item(
    session: AsyncSession,
    *,
    tenant_id: int,
    list_id: int,
    description: str,
    completed: bool,
    now: datetime,
) -> TodoItem:
    """Inserts an item at version 1."""
    row = TodoItem(
        tenant_id=tenant_id,
        list_id=list_id,
        description=description,
        completed=completed,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def update_row(
    session: AsyncSession,
    *,
    row: TodoList | TodoItem,
    values: Mapping[str, object],
    now: datetime,
) -> None:
    """Applies `values` to a locked row, bumps its version by one and sets `updated_at`."""
    for field, value in values.items():
        setattr(row, field, value)
    row.version += 1
    row.updated_at = now
    await session.flush()


async def soft_delete_item(session: AsyncSession, *, row: TodoItem, now: datetime) -> None:
    """Turns a locked item into a tombstone (a write: its version moves too)."""
    await update_row(session, row=row, values={"deleted_at": now}, now=now)


async def soft_delete_list(
    session: AsyncSession, *, row: TodoList, now: datetime
) -> Sequence[sa.Row[int, str, bool]]:
    """Turns a locked list and all its live items into tombstones; returns the items'
    `(id, description, completed)`, for their events."""
    await update_row(session, row=row, values={"deleted_at": now}, now=now)
    statement = (
        sa.update(TodoItem)
        .where(TodoItem.list_id == row.id, TodoItem.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now, version=TodoItem.version + 1)
        .returning(TodoItem.id, TodoItem.description, TodoItem.completed)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).all()
