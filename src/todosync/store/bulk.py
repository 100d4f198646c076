"""The store's bulk reads and version-conditional writes, for the sync engine.

With `service` these are the only writers of lists and items, and they keep the same rules:
every write bumps `version` and sets `updated_at`; deletes are soft and a list takes its live
items with it. Conditional writes name the `version` they expect and do nothing (returning
None) when the row moved on, so an edit made through the API during a run is never lost.
Every write notes its events in the caller's `history.record.Journal` (no query here); the
caller appends the journal once per transaction. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import utc_now
from todosync.db import bulk_insert
from todosync.history.record import Journal
from todosync.store.models import TodoItem, TodoList, new_uid

__all__ = [
    "NewItem",
    "NewList",
    "create_items",
    "create_lists",
    "get_item",
    "get_list",
    "live_items_of",
    "live_lists_with_items",
    "note_items_deleted",
    "purge_tombstones",
    "soft_delete_if_version",
    "update_if_version",
]

Kind = Literal["list", "item"]
_LISTS = cast(sa.Table, TodoList.__table__)
_ITEMS = cast(sa.Table, TodoItem.__table__)
_TABLES = {"list": _LISTS, "item": _ITEMS}
# The columns a new row is written with (`bulk_insert`: plain tuples, no RETURNING), in order
_LIST_COLUMNS = ("id", "uid", "tenant_id", "name", "version", "created_at", "updated_at")
_ITEM_COLUMNS = (
    "id",
    "uid",
    "tenant_id",
    "list_id",
    "description",
    "completed",
    "version",
    "created_at",
    "updated_at",
)
_FIELDS: dict[Kind, tuple[str, ...]] = {"list": ("name",), "item": ("description", "completed")}


@dataclass(slots=True)
class NewItem:
    description: str
    completed: bool
    uid: str = ""
    id: int = 0  # set by create_items
    # when it came to be in the world (a pulled item's remote time); None: now
    valid_at: datetime | None = None


@dataclass(slots=True)
class NewList:
    name: str
    items: list[NewItem]
    uid: str = ""
    id: int = 0  # set by create_lists
    valid_at: datetime | None = None


async def create_lists(
    session: AsyncSession, *, tenant_id: int, lists: Sequence[NewList], journal: Journal
) -> None:
    """Inserts lists and their items (two bulk inserts); fills in their ids and uids."""
    if not lists:
        return
    now = utc_now()
    ids = await bulk_insert.next_ids(session, _LISTS, len(lists))
    for new, id_ in zip(lists, ids, strict=True):
        new.uid = new.uid or new_uid()
        new.id = id_
    rows = [(n.id, n.uid, tenant_id, n.name, 1, now, now) for n in lists]
    await bulk_insert.insert(session, _LISTS, _LIST_COLUMNS, rows)
    for new in lists:
        journal.add(
            "created",
            "list",
            new.id,
            after={"name": new.name},
            valid_at=new.valid_at or now,
            recorded_at=now,
        )
    await create_items(
        session,
        tenant_id=tenant_id,
        items=[(n.id, item) for n in lists for item in n.items],
        journal=journal,
    )


async def create_items(
    session: AsyncSession,
    *,
    tenant_id: int,
    items: Sequence[tuple[int, NewItem]],
    journal: Journal,
) -> None:
    """Inserts items (each with its list id) in one bulk insert; fills in their ids and uids."""
    if not items:
        return
    now = utc_now()
    ids = await bulk_insert.next_ids(session, _ITEMS, len(items))
    for (_, item), id_ in zip(items, ids, strict=True):
        item.uid = item.uid or new_uid()
        item.id = id_
    rows = [
        (item.id, item.uid, tenant_id, list_id, item.description, item.completed, 1, now, now)
        for list_id, item in items
    ]
    await bulk_insert.insert(session, _ITEMS, _ITEM_COLUMNS, rows)
    for list_id, item in items:
        journal.add(
            "created",
            "item",
            item.id,
            list_id=list_id,
            after={"description": item.description, "completed": item.completed},
            valid_at=item.valid_at or now,
            recorded_at=now,
        )


async def update_if_version(
    session: AsyncSession,
    *,
    kind: Kind,
    entity_id: int,
    expected_version: int,
    values: dict[str, Any],
    before: dict[str, Any],
    journal: Journal,
    valid_at: datetime | None = None,
) -> int | None:
    """Writes `values` if the live row is still at `expected_version`; the new version or None.
    `before` holds the row's values of those fields at that version (the plan read them)."""
    table = _TABLES[kind]
    now = utc_now()
    result = await session.execute(
        sa.update(table)
        .where(
            table.c.id == entity_id,
            table.c.version == expected_version,
            table.c.deleted_at.is_(None),
        )
        .values(**values, version=table.c.version + 1, updated_at=now)
        .returning(table.c.version, _list_id_column(table))
    )
    found = result.first()
    if found is None:
        return None
    version, list_id = found
    journal.add(
        "updated",
        kind,
        entity_id,
        list_id=list_id,
        before={name: before.get(name) for name in values},
        after=values,
        valid_at=valid_at or now,
        recorded_at=now,
    )
    return int(version)


def _list_id_column(table: sa.Table) -> sa.ColumnElement[Any]:
    """An item's list id; NULL for a list (its events carry no list id)."""
    return table.c.list_id if table is _ITEMS else sa.null()


async def soft_delete_if_version(
    session: AsyncSession,
    *,
    kind: Kind,
    entity_id: int,
    expected_version: int | None,
    journal: Journal,
) -> bool:
    """Tombstones the row (a list with its live items) if still at `expected_version`."""
    table = _TABLES[kind]
    now = utc_now()
    query = sa.update(table).where(table.c.id == entity_id, table.c.deleted_at.is_(None))
    if expected_version is not None:
        query = query.where(table.c.version == expected_version)
    fields = _FIELDS[kind]
    result = await session.execute(
        query.values(deleted_at=now, updated_at=now, version=table.c.version + 1).returning(
            _list_id_column(table), *(table.c[name] for name in fields)
        )
    )
    found = result.first()
    if found is None:
        return False
    list_id, *values = found
    before = dict(zip(fields, values, strict=True))
    journal.add(
        "deleted", kind, entity_id, list_id=list_id, before=before, valid_at=now, recorded_at=now
    )
    if kind == "list":
        items = await session.execute(
            sa.update(_ITEMS)
            .where(_ITEMS.c.list_id == entity_id, _ITEMS.c.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now, version=_ITEMS.c.version + 1)
            .returning(_ITEMS.c.id, _ITEMS.c.description, _ITEMS.c.completed)
        )
        note_items_deleted(journal, items.all(), list_id=entity_id, now=now)
    return True


def note_items_deleted(
    journal: Journal, rows: Sequence[Any], *, list_id: int, now: datetime
) -> None:
    """Notes the deletion of a list's items, from `(id, description, completed)` rows."""
    for item_id, description, completed in rows:
        journal.add(
            "deleted",
            "item",
            item_id,
            list_id=list_id,
            before={"description": description, "completed": bool(completed)},
            valid_at=now,
            recorded_at=now,
        )


@dataclass(frozen=True, slots=True)
class Row:
    """A list's or item's synced fields and its version."""

    id: int
    uid: str
    version: int
    deleted: bool
    name: str = ""
    description: str = ""
    completed: bool = False


async def get_list(
    session: AsyncSession, list_id: int, *, tenant_id: int | None = None
) -> Row | None:
    """A list, tombstone or not; with `tenant_id`, only if that tenant owns it."""
    query = sa.select(_LISTS.c.uid, _LISTS.c.version, _LISTS.c.deleted_at, _LISTS.c.name).where(
        _LISTS.c.id == list_id
    )
    if tenant_id is not None:
        query = query.where(_LISTS.c.tenant_id == tenant_id)
    result = await session.execute(query)
    found = result.first()
    if found is None:
        return None
    uid, version, deleted_at, name = found
    return Row(list_id, uid, version, deleted_at is not None, name=name)


async def get_item(session: AsyncSession, item_id: int) -> Row | None:
    result = await session.execute(
        sa.select(
            _ITEMS.c.uid,
            _ITEMS.c.version,
            _ITEMS.c.deleted_at,
            _ITEMS.c.description,
            _ITEMS.c.completed,
        ).where(_ITEMS.c.id == item_id)
    )
    found = result.first()
    if found is None:
        return None
    uid, version, deleted_at, description, completed = found
    return Row(
        item_id,
        uid,
        version,
        deleted_at is not None,
        description=description,
        completed=bool(completed),
    )


async def live_items_of(session: AsyncSession, list_id: int) -> list[Row]:
    """A list's live items, in id order."""
    result = await session.execute(
        sa.select(
            _ITEMS.c.id, _ITEMS.c.uid, _ITEMS.c.version, _ITEMS.c.description, _ITEMS.c.completed
        )
        .where(_ITEMS.c.list_id == list_id, _ITEMS.c.deleted_at.is_(None))
        .order_by(_ITEMS.c.id)
    )
    return [
        Row(id_, uid, version, False, description=description, completed=bool(completed))
        for id_, uid, version, description, completed in result
    ]


async def live_lists_with_items(
    session: AsyncSession, list_ids: Sequence[int]
) -> dict[int, tuple[Row, list[Row]]]:
    """The live lists among `list_ids`, each with its live items in id order: two queries
    for the lot (callers pass a few dozen ids at a time)."""
    if not list_ids:
        return {}
    lists = await session.execute(
        sa.select(_LISTS.c.id, _LISTS.c.uid, _LISTS.c.version, _LISTS.c.name).where(
            _LISTS.c.id.in_(list_ids), _LISTS.c.deleted_at.is_(None)
        )
    )
    found: dict[int, tuple[Row, list[Row]]] = {
        id_: (Row(id_, uid, version, False, name=name), []) for id_, uid, version, name in lists
    }
    if not found:
        return found
    items = await session.execute(
        sa.select(
            _ITEMS.c.list_id,
            _ITEMS.c.id,
            _ITEMS.c.uid,
            _ITEMS.c.version,
            _ITEMS.c.description,
            _ITEMS.c.completed,
        )
        .where(_ITEMS.c.list_id.in_(list(found)), _ITEMS.c.deleted_at.is_(None))
        .order_by(_ITEMS.c.id)
    )
    for list_id, id_, uid, version, description, completed in items:
        row = Row(id_, uid, version, False, description=description, completed=bool(completed))
        found[list_id][1].append(row)
    return found


async def purge_tombstones(
    session: AsyncSession,
    *,
    tenant_id: int,
    older_than: datetime,
    keep_ids: Callable[[Kind], sa.Select[tuple[int]]],
) -> int:
    """Hard-deletes tombstones older than `older_than`, except the ids that `keep_ids` selects
    (the sync engine keeps those its ledger still refers to)."""
    purged = 0
    kinds: tuple[Kind, ...] = ("item", "list")  # items first: they point at their list
    for kind in kinds:
        table = _TABLES[kind]
        result = await session.execute(
            sa.delete(table).where(
                table.c.tenant_id == tenant_id,
                table.c.deleted_at.is_not(None),
                table.c.deleted_at < older_than,
                table.c.id.not_in(keep_ids(kind)),
            )
        )
        purged += result.rowcount or 0  # type: ignore[attr-defined]
    return purged
