"""Queries for run records, the per-entity log and conflicts. Callers own the transaction."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import iso_utc, utc_now
from todosync.db import bulk_insert
from todosync.store.models import Connection, TodoItem, TodoList
from todosync.sync.books import lease, run_status
from todosync.sync.books.conflict_status import ConflictStatus
from todosync.sync.books.models import SyncConflict, SyncLease, SyncLog, SyncRun
from todosync.sync.books.run_status import RunStatus

__all__ = [
    "OBSOLETE_ACTION",
    "add_conflicts",
    "add_log_entries",
    "close_obsolete_conflicts",
    "create_run",
    "delete_runs",
    "fail_queued_runs",
    "finish_run",
    "mark_running",
    "old_run_ids",
    "reap_abandoned",
    "touch_run",
]

_LOG_TABLE = cast(sa.Table, SyncLog.__table__)

ABANDONED = "abandoned"
# the log's action when a run closes an entity's conflicts as obsolete (at most 16 characters:
# the column's width)
OBSOLETE_ACTION = "obsolete"


async def create_run(
    session: AsyncSession,
    *,
    connection_id: int,
    trigger: str,
    status: RunStatus,
    dry_run: bool = False,
    allow_mass_delete: bool = False,
    restore_remote: bool = False,
    list_id: int | None = None,
    run_after: datetime | None = None,
) -> SyncRun:
    now = utc_now()
    run = SyncRun(
        connection_id=connection_id,
        trigger=trigger,
        status=status,
        dry_run=dry_run,
        allow_mass_delete=allow_mass_delete,
        restore_remote=restore_remote,
        list_id=list_id,
        created_at=now,
        run_after=run_after,
        started_at=now if status == RunStatus.RUNNING else None,
        heartbeat_at=now if status == RunStatus.RUNNING else None,
        counts={},
        errors=[],
    )
    session.add(run)
    await session.flush()
    return run


async def mark_running(session: AsyncSession, run_id: int) -> None:
    now = utc_now()
    await session.execute(
        sa.update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now)
    )


async def touch_run(session: AsyncSession, run_id: int) -> None:
    """Renews a running run's heartbeat, so readers can tell it is alive."""
    await session.execute(
        sa.update(SyncRun).where(SyncRun.id == run_id).values(heartbeat_at=utc_now())
    )


async def finish_run(session: AsyncSession, run_id: int, **values: Any) -> None:
    await session.execute(
        sa.update(SyncRun).where(SyncRun.id == run_id).values(finished_at=utc_now(), **values)
    )


async def add_log_entries(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Inserts log entries (dictionaries of `_LOG_COLUMNS`, as `Tally.log` makes them; a
    column left out takes the model's default, so `at` is the time of this call)."""
    if entries:
        # straight to the driver (`db.bulk_insert`): a run may log 100k entries, and
        # SQLAlchemy's per-row parameter processing (a `json.dumps` of `fields`, a time
        # through two processors) cost more than the insert itself; which also means the
        # model's defaults are filled in from the table here
        defaults = bulk_insert.defaults(_LOG_TABLE, _LOG_COLUMNS)
        # A run's entries name few distinct field lists: each is encoded once.
        fields_text: dict[tuple[str, ...], str] = {}
        rows = []
        for entry in entries:
            values = list(_LOG_VALUES(entry if len(entry) == _LOG_WIDTH else defaults | entry))
            fields = tuple(values[_FIELDS_AT])
            text = fields_text.get(fields)
            if text is None:
                text = fields_text[fields] = _json_list(list(fields))
            values[_FIELDS_AT] = text
            rows.append(tuple(values))
        await bulk_insert.insert(session, _LOG_TABLE, _LOG_COLUMNS, rows)


_LOG_COLUMNS = (
    "connection_id",
    "run_id",
    "at",
    "kind",
    "local_id",
    "external_id",
    "action",
    "side",
    "fields",
    "outcome",
    "reason",
)
_LOG_VALUES = operator.itemgetter(*_LOG_COLUMNS)
_LOG_WIDTH = len(_LOG_COLUMNS)
_FIELDS_AT = _LOG_COLUMNS.index("fields")
_LIST_ENCODER = msgspec.json.Encoder()


def _json_list(values: list[str]) -> str:
    return _LIST_ENCODER.encode(values).decode()


async def add_conflicts(session: AsyncSession, conflicts: Sequence[dict[str, Any]]) -> None:
    if conflicts:
        await session.execute(sa.insert(SyncConflict), list(conflicts))


async def close_obsolete_conflicts(
    session: AsyncSession, *, connection_id: int, tenant_id: int, run_id: int, now: datetime
) -> int:
    """Closes the connection's open conflicts whose list or item is gone (soft-deleted or
    purged locally, or an item whose list is) as `obsolete`, in one UPDATE, and logs one
    entry per entity on the run, so that its history shows why; returns how many it closed.

    With no open conflict this costs one query on the index of (connection, status)."""
    closing = {"by": "sync", "run_id": run_id, "at": iso_utc(now)}

    def because(reason: str) -> sa.ColumnElement[Any]:
        # a resolution shaped like a person's (`at` alike), saying who closed it and why
        return sa.literal({**closing, "reason": reason}, SyncConflict.resolution.type)

    resolution = sa.case(
        (SyncConflict.kind == "list", because("the list was deleted")),
        (sa.exists(_items(TodoList.deleted_at.is_not(None))), because("its list was deleted")),
        else_=because("the item was deleted"),
    )
    statement = (
        sa.update(SyncConflict)
        .where(SyncConflict.connection_id == connection_id)
        .where(SyncConflict.status == ConflictStatus.OPEN, _entity_gone(tenant_id))
        .values(status=ConflictStatus.OBSOLETE, resolved_at=now, resolution=resolution)
        .returning(
            SyncConflict.kind, SyncConflict.local_id, SyncConflict.field, SyncConflict.resolution
        )
        .execution_options(synchronize_session=False)
    )
    closed = (await session.execute(statement)).all()
    await add_log_entries(
        session, _obsolete_log(closed, connection_id=connection_id, run_id=run_id, now=now)
    )
    return len(closed)


def _items(*conditions: Any) -> sa.Select[int]:
    """The conflict's item (correlated), joined with its list, where `conditions` hold."""
    return (
        sa.select(TodoItem.id)
        .join(TodoList, TodoList.id == TodoItem.list_id)
        .where(TodoItem.id == SyncConflict.local_id, *conditions)
    )


def _entity_gone(tenant_id: int) -> sa.ColumnElement[bool]:
    """No live list (for a list's conflict), or no live item in a live list (an item's)."""
    live_list = sa.exists().where(
        TodoList.id == SyncConflict.local_id,
        TodoList.tenant_id == tenant_id,
        TodoList.deleted_at.is_(None),
    )
    live_item = sa.exists(
        _items(
            TodoItem.tenant_id == tenant_id,
            TodoItem.deleted_at.is_(None),
            TodoList.deleted_at.is_(None),
        )
    )
    return sa.or_(
        sa.and_(SyncConflict.kind == "list", ~live_list),
        sa.and_(SyncConflict.kind == "item", ~live_item),
    )


def _obsolete_log(
    closed: Sequence[sa.Row[str, int, str, Any]], *, connection_id: int, run_id: int, now: datetime
) -> list[dict[str, Any]]:
    """One log entry per entity, naming the fields whose conflicts were closed."""
    fields: defaultdict[tuple[str, int], set[str]] = defaultdict(set)
    reasons: dict[tuple[str, int], str] = {}
    for kind, local_id, field, resolution in closed:
        fields[kind, local_id].add(field)
        reasons[kind, local_id] = resolution["reason"]
    return [
        {
            "connection_id": connection_id,
            "run_id": run_id,
            "at": now,
            "kind": kind,
            "local_id": local_id,
            "external_id": None,
            "action": OBSOLETE_ACTION,
            "side": "ledger",
            "fields": sorted(fields[kind, local_id]),
            "outcome": "ok",
            "reason": f"open conflicts closed as obsolete: {reasons[kind, local_id]}",
        }
        for kind, local_id in sorted(fields)
    ]


async def reap_abandoned(
    session: AsyncSession, *, now: datetime, ttl_s: float, connection_id: int | None = None
) -> list[int]:
    """Marks `running` runs whose holder is gone `failed` with reason "abandoned"; returns
    their ids. For the engine at the start of every run, and for the scheduler.

    A real run is named by its connection's lease (`lease.attach_run`, in the transaction
    that started it), so it is abandoned when no lease names it any more or that lease is
    reclaimable (its holder died on this host, or missed heartbeats for `ttl_s`). A dry run
    holds no lease: it is abandoned when its own heartbeat is older than `ttl_s`.
    """
    runs_query = sa.select(SyncRun.id, SyncRun.connection_id, SyncRun.dry_run, SyncRun.heartbeat_at)
    leases_query = sa.select(
        SyncLease.connection_id,
        SyncLease.run_id,
        SyncLease.host,
        SyncLease.pid,
        SyncLease.heartbeat_at,
    )
    runs_query = runs_query.where(SyncRun.status == RunStatus.RUNNING)
    if connection_id is not None:
        runs_query = runs_query.where(SyncRun.connection_id == connection_id)
        leases_query = leases_query.where(SyncLease.connection_id == connection_id)
    running = (await session.execute(runs_query)).all()
    if not running:
        return []
    leases = {row.connection_id: row for row in await session.execute(leases_query)}
    stale_before = now - timedelta(seconds=ttl_s)
    abandoned = []
    for run_id, conn, dry_run, heartbeat_at in running:
        if dry_run:
            dead = heartbeat_at is None or heartbeat_at < stale_before
        else:
            held = leases.get(conn)
            dead = (
                held is None
                or held.run_id != run_id
                or lease.is_reclaimable(
                    host=held.host,
                    pid=held.pid,
                    heartbeat_at=held.heartbeat_at,
                    ttl_s=ttl_s,
                    now=now,
                )
            )
        if dead:
            abandoned.append(run_id)
    if abandoned:
        await session.execute(
            sa.update(SyncRun)
            .where(SyncRun.id.in_(abandoned), SyncRun.status == RunStatus.RUNNING)
            .values(status=RunStatus.FAILED, reason=ABANDONED, finished_at=now)
        )
    return abandoned


async def old_run_ids(session: AsyncSession, *, older_than: datetime, limit: int) -> list[int]:
    """Up to `limit` finished runs that finished before `older_than`, oldest first, except each
    connection's newest finished run and newest `ok` run (the status shows them)."""
    newest = sa.select(sa.func.max(SyncRun.id)).where(SyncRun.finished_at.is_not(None))
    newest_ok = sa.select(sa.func.max(SyncRun.id)).where(SyncRun.status == RunStatus.OK)
    keep = sa.union(
        newest.group_by(SyncRun.connection_id), newest_ok.group_by(SyncRun.connection_id)
    )
    statement = (
        sa.select(SyncRun.id)
        .where(SyncRun.finished_at < older_than, SyncRun.status.not_in(run_status.UNFINISHED))
        .where(SyncRun.id.not_in(keep))
        .order_by(SyncRun.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def delete_runs(session: AsyncSession, ids: Sequence[int]) -> None:
    """Deletes runs with their log entries; their conflicts stay, no longer tied to a run."""
    # Explicit rather than trusting ON DELETE: it does not depend on SQLite's foreign_keys pragma.
    await session.execute(sa.delete(SyncLog).where(SyncLog.run_id.in_(ids)))
    await session.execute(
        sa.update(SyncConflict).where(SyncConflict.run_id.in_(ids)).values(run_id=None)
    )
    await session.execute(sa.delete(SyncRun).where(SyncRun.id.in_(ids)))


async def fail_queued_runs(
    session: AsyncSession,
    *,
    reason: str,
    now: datetime,
    tenant_id: int | None = None,
    connection_id: int | None = None,
) -> None:
    """Marks every queued run of the tenant's connections (or of one connection) failed with
    `reason` (a running one finishes: its lease and the engine end it)."""
    connections = sa.select(Connection.id).where(
        Connection.tenant_id == tenant_id
        if connection_id is None
        else Connection.id == connection_id
    )
    await session.execute(
        sa.update(SyncRun)
        .where(SyncRun.connection_id.in_(connections), SyncRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.FAILED, reason=reason, finished_at=now)
        .execution_options(synchronize_session=False)
    )
