"""The one writer of todo lists and items; the API and the sync engine both call it.

Contract of every write:
- it bumps the row's `version` by exactly one and sets `updated_at` to `clock.utc_now()`;
- an update whose values equal the current ones (or that has no values) writes nothing and
  leaves `version` alone, so `version` moves only when content or deletion state does;
- a delete is soft: it sets `deleted_at` (and bumps `version`), and a list takes all its live
  items with it; tombstones are invisible to every read here;
- `expected_version`, when given, makes the write conditional: a row at another version raises
  `ConflictError` and nothing is written (the sync engine's guard against lost updates);
- unknown, deleted and other tenants' rows all raise `NotFoundError`;
- text that cannot be stored raises `ValidationFailed`;
- every write appends its events (`history.record`) in the same transaction, by `actor`, with
  the write time as both valid and recorded time; a write that writes nothing appends none.

Functions flush but never commit: the caller (request, job, engine loop) owns the transaction.
The entity's own id is the one positional argument after the session (`get_list(session, 7,
tenant_id=1)`, like `session.get(Model, 7)`); everything else is keyword-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import utc_now
from todosync.db.page import Page
from todosync.errors import ConflictError, NotFoundError, ValidationFailed
from todosync.history import record
from todosync.history.record import Actor
from todosync.store import bulk, repository, schemas
from todosync.store.models import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH, TodoItem, TodoList

__all__ = [
    "Page",
    "create_item",
    "create_list",
    "delete_item",
    "delete_list",
    "get_item",
    "get_list",
    "get_lists",
    "is_tenants",
    "items_of_lists",
    "list_items",
    "list_lists",
    "update_item",
    "update_list",
]

RowT = TypeVar("RowT", TodoList, TodoItem, repository.ItemRow)


# -- lists ---------------------------------------------------------------------------------------


async def is_tenants(session: AsyncSession, *, tenant_id: int, kind: str, entity_id: int) -> bool:
    """Whether the list or item (`kind`) is the tenant's, live or deleted (not yet purged)."""
    return await repository.is_tenants(session, tenant_id=tenant_id, kind=kind, entity_id=entity_id)


async def get_list(session: AsyncSession, list_id: int, *, tenant_id: int) -> TodoList:
    """The tenant's live list, or `NotFoundError`."""
    row = await repository.get_list(session, tenant_id=tenant_id, list_id=list_id)
    return _found(row, "list", list_id)


async def get_lists(
    session: AsyncSession, list_ids: Sequence[int], *, tenant_id: int
) -> dict[int, TodoList]:
    """The tenant's live lists among `list_ids`, by id (missing ones left out), in one query."""
    rows = await repository.get_lists(session, tenant_id=tenant_id, list_ids=list_ids)
    return {row.id: row for row in rows}


async def list_lists(
    session: AsyncSession, *, tenant_id: int, after_id: int = 0, limit: int
) -> Page[TodoList]:
    """One page of the tenant's live lists with ids above `after_id`."""
    rows = await repository.page_lists(
        session, tenant_id=tenant_id, after_id=after_id, limit=limit + 1
    )
    return _page(rows, limit=limit)


async def create_list(
    session: AsyncSession, *, tenant_id: int, name: str, actor: Actor = record.API
) -> TodoList:
    """Creates a list (version 1)."""
    _check_text(name, field="name", max_length=MAX_NAME_LENGTH)
    now = utc_now()
    row = await repository.insert_list(session, tenant_id=tenant_id, name=name, now=now)
    journal = record.Journal(tenant_id, actor)
    journal.add("created", "list", row.id, after={"name": name}, valid_at=now, recorded_at=now)
    await record.append(session, journal.take())
    return row


async def update_list(
    session: AsyncSession,
    list_id: int,
    *,
    tenant_id: int,
    name: str | None = None,
    expected_version: int | None = None,
    actor: Actor = record.API,
) -> TodoList:
    """Changes the fields that are not None; see the module contract."""
    if name is not None:
        _check_text(name, field="name", max_length=MAX_NAME_LENGTH)
    row = await _locked_list(
        session, tenant_id=tenant_id, list_id=list_id, expected=expected_version
    )
    await _apply(session, row, {"name": name}, actor=actor)
    return row


async def delete_list(
    session: AsyncSession,
    list_id: int,
    *,
    tenant_id: int,
    expected_version: int | None = None,
    actor: Actor = record.API,
) -> None:
    """Soft-deletes the list and every live item in it."""
    row = await _locked_list(
        session, tenant_id=tenant_id, list_id=list_id, expected=expected_version
    )
    now = utc_now()
    name = row.name
    items = await repository.soft_delete_list(session, row=row, now=now)
    journal = record.Journal(tenant_id, actor)
    journal.add("deleted", "list", list_id, before={"name": name}, valid_at=now, recorded_at=now)
    bulk.note_items_deleted(journal, items, list_id=list_id, now=now)
    await record.append(session, journal.take())


# -- items ---------------------------------------------------------------------------------------


async def get_item(
    session: AsyncSession, item_id: int, *, tenant_id: int, list_id: int
) -> TodoItem:
    """The live item of the tenant's live list, or `NotFoundError` (for the list or the item)."""
    row = await repository.get_item(session, tenant_id=tenant_id, list_id=list_id, item_id=item_id)
    return await _found_item(session, row, tenant_id=tenant_id, list_id=list_id, item_id=item_id)


async def list_items(
    session: AsyncSession, *, tenant_id: int, list_id: int, after_id: int = 0, limit: int
) -> Page[repository.ItemRow]:
    """One page of a live list's live items with ids above `after_id`, as plain rows (the
    columns of `repository.ItemRow`), or `NotFoundError` for the list."""
    rows = await repository.page_items(
        session, tenant_id=tenant_id, list_id=list_id, after_id=after_id, limit=limit + 1
    )
    if not rows:
        # an empty page, or no such list: only then is the list looked up on its own
        await get_list(session, list_id, tenant_id=tenant_id)
    return _page(rows, limit=limit)


async def items_of_lists(
    session: AsyncSession, list_ids: Sequence[int], *, tenant_id: int, after_id: int, limit: int
) -> dict[int, Page[repository.ItemRow]]:
    """One page of live items (ids above `after_id`) for each of the tenant's live lists in
    `list_ids`, in one query; a list that is not the tenant's live list gets an empty page."""
    rows = await repository.first_items_of_lists(
        session, tenant_id=tenant_id, list_ids=list_ids, after_id=after_id, limit=limit + 1
    )
    by_list: dict[int, list[repository.ItemRow]] = {list_id: [] for list_id in list_ids}
    for row in rows:
        by_list[row.list_id].append(row)
    return {list_id: _page(found, limit=limit) for list_id, found in by_list.items()}


async def create_item(
    session: AsyncSession,
    *,
    tenant_id: int,
    list_id: int,
    description: str,
    completed: bool = False,
    actor: Actor = record.API,
) -> TodoItem:
    """Creates an item (version 1) in a live list; the list itself is not written."""
    _check_text(description, field="description", max_length=MAX_DESCRIPTION_LENGTH)
    # Locked so that a concurrent delete of the list cannot miss the new item.
    await _locked_list(session, tenant_id=tenant_id, list_id=list_id, expected=None)
    now = utc_now()
    row = await repository.insert_item(
        session,
        tenant_id=tenant_id,
        list_id=list_id,
        description=description,
        completed=completed,
        now=now,
    )
    journal = record.Journal(tenant_id, actor)
    journal.add(
        "created",
        "item",
        row.id,
        list_id=list_id,
        after={"description": description, "completed": completed},
        valid_at=now,
        recorded_at=now,
    )
    await record.append(session, journal.take())
    return row


async def update_item(
    session: AsyncSession,
    item_id: int,
    *,
    tenant_id: int,
    list_id: int,
    description: str | None = None,
    completed: bool | None = None,
    expected_version: int | None = None,
    actor: Actor = record.API,
) -> TodoItem:
    """Changes the fields that are not None; see the module contract."""
    if description is not None:
        _check_text(description, field="description", max_length=MAX_DESCRIPTION_LENGTH)
    row = await _locked_item(
        session, tenant_id=tenant_id, list_id=list_id, item_id=item_id, expected=expected_version
    )
    await _apply(session, row, {"description": description, "completed": completed}, actor=actor)
    return row


async def delete_item(
    session: AsyncSession,
    item_id: int,
    *,
    tenant_id: int,
    list_id: int,
    expected_version: int | None = None,
    actor: Actor = record.API,
) -> None:
    """Soft-deletes one item."""
    row = await _locked_item(
        session, tenant_id=tenant_id, list_id=list_id, item_id=item_id, expected=expected_version
    )
    now = utc_now()
    journal = record.Journal(tenant_id, actor)
    bulk.note_items_deleted(
        journal, [(row.id, row.description, row.completed)], list_id=list_id, now=now
    )
    await repository.soft_delete_item(session, row=row, now=now)
    await record.append(session, journal.take())


# -- helpers -------------------------------------------------------------------------------------


def _found(row: RowT | None, entity: str, entity_id: int) -> RowT:
    if row is None:
        raise NotFoundError(f"{entity} {entity_id} not found")
    return row


def _check_version(row: TodoList | TodoItem, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise ConflictError(f"version is {row.version}, not the expected {expected}")


def _check_text(value: str, *, field: str, max_length: int) -> None:
    problem = schemas.text_problem(value, max_length=max_length)
    if problem is not None:
        raise ValidationFailed(f"{field}: {problem}")


async def _locked_list(
    session: AsyncSession, *, tenant_id: int, list_id: int, expected: int | None
) -> TodoList:
    row = await repository.get_list(session, tenant_id=tenant_id, list_id=list_id, for_update=True)
    row = _found(row, "list", list_id)
    _check_version(row, expected)
    return row


async def _locked_item(
    session: AsyncSession, *, tenant_id: int, list_id: int, item_id: int, expected: int | None
) -> TodoItem:
    row = await repository.get_item(
        session, tenant_id=tenant_id, list_id=list_id, item_id=item_id, for_update=True
    )
    row = await _found_item(session, row, tenant_id=tenant_id, list_id=list_id, item_id=item_id)
    _check_version(row, expected)
    return row


async def _found_item(
    session: AsyncSession, row: TodoItem | None, *, tenant_id: int, list_id: int, item_id: int
) -> TodoItem:
    """`row`, or `NotFoundError` naming the list when that is what is missing."""
    if row is None:
        # the item query also checks the list; only a miss pays for telling which is missing
        await get_list(session, list_id, tenant_id=tenant_id)
    return _found(row, "item", item_id)


async def _apply(
    session: AsyncSession, row: TodoList | TodoItem, values: dict[str, object], *, actor: Actor
) -> None:
    changed = {
        field: value
        for field, value in values.items()
        if value is not None and getattr(row, field) != value
    }
    if not changed:
        return
    before = {field: getattr(row, field) for field in changed}
    now = utc_now()
    await repository.update_row(session, row=row, values=changed, now=now)
    journal = record.Journal(row.tenant_id, actor)
    list_id = row.list_id if isinstance(row, TodoItem) else None
    kind: record.Kind = "item" if isinstance(row, TodoItem) else "list"
    journal.add(
        "updated",
        kind,
        row.id,
        list_id=list_id,
        before=before,
        after=changed,
        valid_at=now,
        recorded_at=now,
    )
    await record.append(session, journal.take())


def _page(rows: Sequence[RowT], *, limit: int) -> Page[RowT]:
    if len(rows) > limit:
        return Page(rows=rows[:limit], last_id=rows[limit - 1].id)
    return Page(rows=rows, last_id=None)
