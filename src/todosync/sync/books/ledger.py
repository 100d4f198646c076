"""Queries of the sync engine: the ledger, and the local rows that moved since the last sync.

Reads are bulk (one query per table); writes take plain dictionaries and run as one
statement per batch. Callers own the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.db import bulk_insert
from todosync.store.models import Connection, TodoItem, TodoList
from todosync.sync.books.models import SyncState
from todosync.sync.core.fields import Fields, Kind, content_hash, encode_snapshot
from todosync.sync.core.snapshot import LedgerRow, LocalRow

__all__ = [
    "changed_local_rows",
    "clear_intent",
    "delete_item_rows_under",
    "delete_rows",
    "insert_rows",
    "live_local_rows",
    "load_rows",
    "mapped_local_ids",
    "new_row",
    "pull_digest",
    "refresh_statistics",
    "remap_list",
    "rows_by_uid",
    "set_digests",
    "set_intent",
    "set_pull_digest",
    "update_row",
]

_STATE = cast(sa.Table, SyncState.__table__)
_LISTS = cast(sa.Table, TodoList.__table__)
_ITEMS = cast(sa.Table, TodoItem.__table__)
_CONNECTIONS = cast(sa.Table, Connection.__table__)
# Values named in one `IN (...)`: far below every driver's limit on bound parameters.
_CHUNK = 500
# Ledger rows fetched from the database at a time when loading them all.
_STREAM_ROWS = 5_000
# The columns of a `LedgerRow`, in its order, but for `intent_data` (see `load_rows`).
_ROW_COLUMNS = (
    _STATE.c.id,
    _STATE.c.kind,
    _STATE.c.local_id,
    _STATE.c.local_uid,
    _STATE.c.parent_local_id,
    _STATE.c.parent_external_id,
    _STATE.c.external_id,
    _STATE.c.content_hash,
    _STATE.c.snapshot,
    _STATE.c.local_version,
    _STATE.c.intent,
    _STATE.c.items_digest,
)


async def load_rows(
    session: AsyncSession,
    *,
    connection_id: int,
    list_id: int | None = None,
    kind: Kind | None = None,
    items_of: Collection[str] | None = None,
) -> list[LedgerRow]:
    """The connection's ledger rows: all of them, or those of one local list and its items;
    only one `kind`; with `items_of`, only the item rows of those remote lists."""
    scope = _STATE.c.connection_id == connection_id
    if kind is not None:
        scope = sa.and_(scope, _STATE.c.kind == kind)
    if list_id is not None:
        scope = sa.and_(
            scope,
            sa.or_(
                sa.and_(_STATE.c.kind == "list", _STATE.c.local_id == list_id),
                sa.and_(_STATE.c.kind == "item", _STATE.c.parent_local_id == list_id),
            ),
        )
    if items_of is None:
        return await _select_rows(session, scope)
    rows: list[LedgerRow] = []
    parents = sorted(items_of)
    for start in range(0, len(parents), _CHUNK):
        chunk = parents[start : start + _CHUNK]
        of_chunk = sa.and_(_STATE.c.kind == "item", _STATE.c.parent_external_id.in_(chunk))
        rows += await _select_rows(session, sa.and_(scope, of_chunk))
    return rows


async def _select_rows(session: AsyncSession, where: sa.ColumnElement[bool]) -> list[LedgerRow]:
    # The hot path of every run (one row per entity): plain columns only. Intents are rare
    # and their data is JSON, decoded per row, so they come in a second, small query.
    # Streamed in batches (a server-side cursor on PostgreSQL): the driver never holds all
    # 100k raw rows beside the objects made from them, which keeps the peak memory down.
    # The values that repeat down the rows (the kind; a list's id on each of its items) are
    # kept once: the driver makes a new string per value, and 100k item rows held ~14 MB of
    # copies through the plan, at the peak of a run's memory.
    query = sa.select(*_ROW_COLUMNS).where(where).execution_options(yield_per=_STREAM_ROWS)
    rows: list[LedgerRow] = []
    shared: dict[Any, Any] = {}
    once = shared.setdefault
    async for batch in (await session.stream(query)).partitions():
        rows += [
            LedgerRow(
                id_,
                once(kind, kind),
                local_id,
                local_uid,
                once(parent_local_id, parent_local_id),
                once(parent_external_id, parent_external_id),
                *rest,
            )
            for id_, kind, local_id, local_uid, parent_local_id, parent_external_id, *rest in batch
        ]
    intents = await session.execute(
        sa.select(_STATE.c.id, _STATE.c.intent_data).where(where, _STATE.c.intent.is_not(None))
    )
    intent_data: dict[int, dict[str, Any]] = dict(intents.all())
    if not intent_data:
        return rows
    return [
        dataclasses.replace(row, intent_data=intent_data[row.id]) if row.id in intent_data else row
        for row in rows
    ]


async def rows_by_uid(
    session: AsyncSession, *, connection_id: int, uids: Collection[str]
) -> list[LedgerRow]:
    """The ledger rows of the given local uids (an indexed look-up; few uids at a time)."""
    rows: list[LedgerRow] = []
    uid_list = sorted(uids)
    for start in range(0, len(uid_list), _CHUNK):
        chunk = uid_list[start : start + _CHUNK]
        result = await session.execute(
            sa.select(*_ROW_COLUMNS).where(
                _STATE.c.connection_id == connection_id, _STATE.c.local_uid.in_(chunk)
            )
        )
        rows += [LedgerRow(*row) for row in result]
    return rows


async def set_digests(session: AsyncSession, digests: Mapping[int, str | None]) -> None:
    """Records (or, with None, forgets) the `items_digest` of list rows, by ledger id."""
    if digests:
        await session.execute(
            sa.update(_STATE).where(_STATE.c.id == sa.bindparam("ledger_id")),
            [{"ledger_id": id_, "items_digest": digest} for id_, digest in digests.items()],
        )


async def pull_digest(session: AsyncSession, *, connection_id: int) -> str | None:
    """The digest of the pull that every recorded list digest agrees with, if known."""
    query = sa.select(_CONNECTIONS.c.pull_digest).where(_CONNECTIONS.c.id == connection_id)
    digest: str | None = await session.scalar(query)
    return digest


async def set_pull_digest(session: AsyncSession, *, connection_id: int, digest: str | None) -> None:
    await session.execute(
        sa.update(_CONNECTIONS).where(_CONNECTIONS.c.id == connection_id).values(pull_digest=digest)
    )


async def changed_local_rows(
    session: AsyncSession, *, tenant_id: int, connection_id: int, list_id: int | None = None
) -> list[LocalRow]:
    """Lists and items never synced, or whose `version` moved since they last were
    (tombstones included): everything else equals its ledger snapshot."""
    rows = [*await _changed_lists(session, tenant_id, connection_id, list_id)]
    rows += await _changed_items(session, tenant_id, connection_id, list_id)
    return rows


async def live_local_rows(session: AsyncSession, *, tenant_id: int) -> list[LocalRow]:
    """Every live list and item of the tenant (for `verify`, not for the sync's hot path)."""
    lists = await session.execute(
        sa.select(
            _LISTS.c.id, _LISTS.c.uid, _LISTS.c.name, _LISTS.c.version, _LISTS.c.updated_at
        ).where(_LISTS.c.tenant_id == tenant_id, _LISTS.c.deleted_at.is_(None))
    )
    rows = [
        LocalRow("list", id_, uid, None, {"name": name}, version, updated, None)
        for id_, uid, name, version, updated in lists
    ]
    items = await session.execute(
        sa.select(
            _ITEMS.c.id,
            _ITEMS.c.uid,
            _ITEMS.c.list_id,
            _ITEMS.c.description,
            _ITEMS.c.completed,
            _ITEMS.c.version,
            _ITEMS.c.updated_at,
        ).where(_ITEMS.c.tenant_id == tenant_id, _ITEMS.c.deleted_at.is_(None))
    )
    rows += [
        LocalRow("item", id_, uid, parent, {"description": d, "completed": bool(c)}, v, u, None)
        for id_, uid, parent, d, c, v, u in items
    ]
    return rows


def _moved(kind: Kind, table: sa.Table, connection_id: int) -> tuple[Any, Any]:
    join = sa.and_(
        _STATE.c.connection_id == connection_id,
        _STATE.c.kind == kind,
        _STATE.c.local_id == table.c.id,
    )
    moved = sa.or_(_STATE.c.id.is_(None), _STATE.c.local_version != table.c.version)
    return join, moved


async def _changed_lists(
    session: AsyncSession, tenant_id: int, connection_id: int, list_id: int | None
) -> list[LocalRow]:
    join, moved = _moved("list", _LISTS, connection_id)
    query = (
        sa.select(
            _LISTS.c.id,
            _LISTS.c.uid,
            _LISTS.c.name,
            _LISTS.c.version,
            _LISTS.c.updated_at,
            _LISTS.c.deleted_at,
        )
        .select_from(_LISTS.outerjoin(_STATE, join))
        .where(_LISTS.c.tenant_id == tenant_id, moved)
    )
    if list_id is not None:
        query = query.where(_LISTS.c.id == list_id)
    # in id order, so that the plan (and the order of pushes) is the order of creation
    result = await session.execute(query.order_by(_LISTS.c.id))
    return [
        LocalRow("list", id_, uid, None, {"name": name}, version, updated, deleted)
        for id_, uid, name, version, updated, deleted in result
    ]


async def _changed_items(
    session: AsyncSession, tenant_id: int, connection_id: int, list_id: int | None
) -> list[LocalRow]:
    join, moved = _moved("item", _ITEMS, connection_id)
    query = (
        sa.select(
            _ITEMS.c.id,
            _ITEMS.c.uid,
            _ITEMS.c.list_id,
            _ITEMS.c.description,
            _ITEMS.c.completed,
            _ITEMS.c.version,
            _ITEMS.c.updated_at,
            _ITEMS.c.deleted_at,
        )
        .select_from(_ITEMS.outerjoin(_STATE, join))
        .where(_ITEMS.c.tenant_id == tenant_id, moved)
    )
    if list_id is not None:
        query = query.where(_ITEMS.c.list_id == list_id)
    result = await session.execute(query.order_by(_ITEMS.c.id))
    return [
        LocalRow(
            "item",
            id_,
            uid,
            parent,
            {"description": description, "completed": bool(completed)},
            version,
            updated,
            deleted,
        )
        for id_, uid, parent, description, completed, version, updated, deleted in result
    ]


# The keys of `new_row`'s dictionaries, in their order (`insert_rows` relies on it).
_NEW_ROW_COLUMNS = (
    "connection_id",
    "kind",
    "local_id",
    "local_uid",
    "external_id",
    "parent_external_id",
    "parent_local_id",
    "snapshot",
    "content_hash",
    "local_version",
    "remote_updated_at",
    "synced_at",
    "intent",
    "items_digest",
)


def new_row(
    *,
    connection_id: int,
    kind: Kind,
    local_id: int,
    local_uid: str,
    external_id: str,
    fields: Fields,
    local_version: int,
    parent_external_id: str = "",
    parent_local_id: int | None = None,
    remote_updated_at: datetime | None = None,
    items_digest: str | None = None,
    synced_at: datetime,
) -> dict[str, Any]:
    """The values of one ledger row, for `insert_rows`."""
    return {
        "connection_id": connection_id,
        "kind": kind,
        "local_id": local_id,
        "local_uid": local_uid,
        "external_id": external_id,
        "parent_external_id": parent_external_id,
        "parent_local_id": parent_local_id,
        "snapshot": encode_snapshot(fields),
        "content_hash": content_hash(kind, fields),
        "local_version": local_version,
        "remote_updated_at": remote_updated_at,
        "synced_at": synced_at,
        "intent": None,
        # no `intent_data`: left out, it is SQL NULL (a None here would be JSON `null`,
        # encoded once per row)
        "items_digest": items_digest,
    }


async def insert_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts rows made by `new_row`, as plain tuples straight to the driver."""
    if rows:
        await bulk_insert.insert(
            session, _STATE, _NEW_ROW_COLUMNS, [tuple(row.values()) for row in rows]
        )


async def delete_rows(session: AsyncSession, ids: Iterable[int]) -> None:
    id_list = list(ids)
    for start in range(0, len(id_list), _CHUNK):
        chunk = id_list[start : start + _CHUNK]
        await session.execute(sa.delete(_STATE).where(_STATE.c.id.in_(chunk)))


async def update_row(
    session: AsyncSession,
    ledger_id: int,
    *,
    kind: Kind,
    fields: Fields,
    local_version: int,
    remote_updated_at: datetime | None,
    synced_at: datetime,
) -> None:
    """Records new agreed content for one entity."""
    await session.execute(
        sa.update(_STATE)
        .where(_STATE.c.id == ledger_id)
        .values(
            snapshot=encode_snapshot(fields),
            content_hash=content_hash(kind, fields),
            local_version=local_version,
            remote_updated_at=remote_updated_at,
            synced_at=synced_at,
        )
    )


async def set_intent(
    session: AsyncSession, ledger_id: int, *, intent: str, data: dict[str, Any]
) -> None:
    await session.execute(
        sa.update(_STATE).where(_STATE.c.id == ledger_id).values(intent=intent, intent_data=data)
    )


async def clear_intent(session: AsyncSession, *, connection_id: int, list_local_id: int) -> None:
    await session.execute(
        sa.update(_STATE)
        .where(
            _STATE.c.connection_id == connection_id,
            _STATE.c.kind == "list",
            _STATE.c.local_id == list_local_id,
        )
        .values(intent=None, intent_data=None)
    )


async def delete_item_rows_under(
    session: AsyncSession, *, connection_id: int, parent_external_ids: Sequence[str]
) -> None:
    """Drops the item rows of the given remote lists (their items are about to be remapped)."""
    await session.execute(
        sa.delete(_STATE).where(
            _STATE.c.connection_id == connection_id,
            _STATE.c.kind == "item",
            _STATE.c.parent_external_id.in_(list(parent_external_ids)),
        )
    )


async def remap_list(
    session: AsyncSession,
    ledger_id: int,
    *,
    external_id: str,
    fields: Fields,
    local_version: int,
    remote_updated_at: datetime | None,
    synced_at: datetime,
    intent: str | None,
    intent_data: dict[str, Any] | None,
) -> None:
    """Points a list's ledger row at a new remote copy (after a re-create)."""
    await session.execute(
        sa.update(_STATE)
        .where(_STATE.c.id == ledger_id)
        .values(
            external_id=external_id,
            snapshot=encode_snapshot(fields),
            content_hash=content_hash("list", fields),
            local_version=local_version,
            remote_updated_at=remote_updated_at,
            synced_at=synced_at,
            intent=intent,
            intent_data=intent_data,
            items_digest=None,  # its items are about to be remapped
        )
    )


def mapped_local_ids(kind: Kind) -> sa.Select[tuple[int]]:
    """The local ids of `kind` that any connection's ledger refers to (a subquery)."""
    return sa.select(_STATE.c.local_id).where(_STATE.c.kind == kind)


async def refresh_statistics(session: AsyncSession) -> None:
    """Has PostgreSQL analyse the tables that a run fills in bulk (nothing to do on SQLite).

    After a bulk import the planner knows nothing of the new rows until autovacuum comes
    round, and the next run's "what moved locally" join was seen taking a nested loop over
    100k x 100k rows (minutes) instead of a hash join (a fraction of a second)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.text(f"ANALYZE {_LISTS.name}, {_ITEMS.name}, {_STATE.name}"))
