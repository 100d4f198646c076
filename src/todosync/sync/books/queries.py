"""Queries behind the sync API and the dispatcher: runs, logs, conflicts, quarantine, status.

Everything is scoped by connection (a tenant's link to the external API); the caller finds
the tenant's connection with `connection_of` first. Functions flush but never commit.
Pages are keyset pages: `limit + 1` rows are fetched so the caller can tell if more follow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from todosync.store.models import Connection, Tenant, TodoItem, TodoList
from todosync.sync.books import run_status
from todosync.sync.books.conflict_status import ConflictStatus
from todosync.sync.books.models import (
    SyncConflict,
    SyncLog,
    SyncQuarantine,
    SyncRun,
    SyncSchedule,
    SyncState,
)
from todosync.sync.books.run_status import RunStatus

__all__ = [
    "QUEUED",
    "ConnectionIds",
    "changed_entities",
    "connection_names",
    "connection_of",
    "delete_quarantine",
    "due_runs",
    "every_connection",
    "fail_run",
    "find_queued",
    "get_conflict",
    "get_quarantine",
    "get_run",
    "has_history",
    "item_list_id",
    "last_finished_runs",
    "last_finished_runs_by_connection",
    "last_success_by_connection",
    "next_run_by_connection",
    "open_conflicts_by_connection",
    "opened_conflicts",
    "page_conflicts",
    "page_history",
    "page_quarantine",
    "page_runs",
    "pending_changes_by_connection",
    "quarantined_by_connection",
    "run_log",
    "run_with_tenant",
]

QUEUED = RunStatus.QUEUED


async def every_connection(session: AsyncSession) -> list[int]:
    """The id of every connection, oldest first."""
    return list(await session.scalars(sa.select(Connection.id).order_by(Connection.id)))


async def connection_of(session: AsyncSession, *, tenant_id: int) -> int | None:
    """The tenant's connection (the oldest, should it ever have several), or None."""
    statement = sa.select(sa.func.min(Connection.id)).where(Connection.tenant_id == tenant_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def connection_disabled(session: AsyncSession, *, connection_id: int) -> bool:
    statement = sa.select(Connection.disabled_at).where(Connection.id == connection_id)
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def connection_names(session: AsyncSession, *, connection_id: int) -> tuple[str, str]:
    """(tenant name, connection name) of a connection: what an operator knows it by."""
    statement = (
        sa.select(Tenant.name, Connection.name)
        .join(Tenant, Tenant.id == Connection.tenant_id)
        .where(Connection.id == connection_id)
    )
    tenant, connection = (await session.execute(statement)).one()
    return tenant, connection


# -- runs ----------------------------------------------------------------------------------------


async def page_runs(
    session: AsyncSession,
    *,
    connection_id: int,
    before_id: int,
    limit: int,
    status: str | None = None,
    trigger: str | None = None,
    created_before: datetime | None = None,
) -> Sequence[SyncRun]:
    """Up to `limit` runs, newest first, with ids below `before_id` (0: from the newest),
    of the given `status` and `trigger` and created before `created_before`, if any."""
    statement = sa.select(SyncRun).where(SyncRun.connection_id == connection_id)
    if before_id:
        statement = statement.where(SyncRun.id < before_id)
    if status is not None:
        statement = statement.where(SyncRun.status == status)
    if trigger is not None:
        statement = statement.where(SyncRun.trigger == trigger)
    if created_before is not None:
        statement = statement.where(SyncRun.created_at < created_before)
    statement = statement.order_by(SyncRun.id.desc()).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def get_run(session: AsyncSession, *, connection_id: int, run_id: int) -> SyncRun | None:
    statement = sa.select(SyncRun).where(
        SyncRun.id == run_id, SyncRun.connection_id == connection_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def run_log(session: AsyncSession, *, run_id: int) -> Sequence[SyncLog]:
    statement = sa.select(SyncLog).where(SyncLog.run_id == run_id).order_by(SyncLog.id)
    return (await session.execute(statement)).scalars().all()


async def find_queued(
    session: AsyncSession,
    *,
    connection_id: int,
    list_id: int | None,
    dry_run: bool,
    allow_mass_delete: bool,
    restore_remote: bool = False,
    run_after: datetime,
) -> SyncRun | None:
    """A queued run of the same kind that starts no later than `run_after`, if any."""
    same_list = SyncRun.list_id.is_(None) if list_id is None else SyncRun.list_id == list_id
    statement = (
        sa.select(SyncRun)
        .where(SyncRun.connection_id == connection_id, SyncRun.status == QUEUED, same_list)
        .where(SyncRun.dry_run == dry_run, SyncRun.allow_mass_delete == allow_mass_delete)
        .where(SyncRun.restore_remote == restore_remote)
        .where(sa.or_(SyncRun.run_after.is_(None), SyncRun.run_after <= run_after))
        .order_by(SyncRun.id)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _with_tenant() -> sa.Select[SyncRun, int]:
    return sa.select(SyncRun, Connection.tenant_id).join(
        Connection, Connection.id == SyncRun.connection_id
    )


async def run_with_tenant(session: AsyncSession, *, run_id: int) -> tuple[SyncRun, int] | None:
    """A run of any connection, with its connection's tenant."""
    row = (await session.execute(_with_tenant().where(SyncRun.id == run_id))).first()
    return None if row is None else (row[0], row[1])


async def due_runs(session: AsyncSession, *, now: datetime) -> list[tuple[SyncRun, int]]:
    """Queued runs whose time has come, oldest first, each with its connection's tenant."""
    statement = (
        _with_tenant()
        .where(SyncRun.status == QUEUED)
        .where(sa.or_(SyncRun.run_after.is_(None), SyncRun.run_after <= now))
        .order_by(SyncRun.run_after, SyncRun.id)
    )
    return [(run, tenant_id) for run, tenant_id in await session.execute(statement)]


async def fail_run(session: AsyncSession, *, run_id: int, reason: str, now: datetime) -> None:
    """Marks a queued or running run failed (a finished one keeps its outcome)."""
    await session.execute(
        sa.update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.status.in_(run_status.UNFINISHED))
        .values(status=RunStatus.FAILED, reason=reason, finished_at=now)
    )


# -- status --------------------------------------------------------------------------------------


# Each status figure is read for many connections at once (grouped by connection), so that the
# metrics scrape and the admin overview cost the same few statements for one tenant or many.
# `connection_ids` None means every connection.
ConnectionIds = Collection[int] | None


async def last_finished_runs_by_connection(
    session: AsyncSession, *, connection_ids: ConnectionIds
) -> dict[int, SyncRun]:
    """Each connection's newest finished run (dry runs too: the status shows them)."""
    newest = (
        sa.select(sa.func.max(SyncRun.id))
        .where(SyncRun.finished_at.is_not(None), *_among(SyncRun.connection_id, connection_ids))
        .group_by(SyncRun.connection_id)
    )
    statement = sa.select(SyncRun).where(SyncRun.id.in_(newest.scalar_subquery()))
    return {run.connection_id: run for run in (await session.execute(statement)).scalars()}


async def last_success_by_connection(
    session: AsyncSession, *, connection_ids: ConnectionIds
) -> dict[int, datetime]:
    """When each connection's last `ok` run finished (connections without one are left out)."""
    statement = (
        sa.select(SyncRun.connection_id, sa.func.max(SyncRun.finished_at))
        .where(SyncRun.status == RunStatus.OK, *_among(SyncRun.connection_id, connection_ids))
        .group_by(SyncRun.connection_id)
    )
    return {c: at for c, at in (await session.execute(statement)).all() if at is not None}


async def next_run_by_connection(
    session: AsyncSession, *, connection_ids: ConnectionIds
) -> dict[int, datetime]:
    """The earliest of each connection's queued runs and its periodic scheduler's next run."""
    queued = (
        sa.select(SyncRun.connection_id, sa.func.min(SyncRun.run_after))
        .where(SyncRun.status == QUEUED, *_among(SyncRun.connection_id, connection_ids))
        .group_by(SyncRun.connection_id)
    )
    periodic = sa.select(SyncSchedule.connection_id, SyncSchedule.next_run_at).where(
        *_among(SyncSchedule.connection_id, connection_ids)
    )
    earliest: dict[int, datetime] = {}
    for statement in (queued, periodic):
        for connection_id, at in (await session.execute(statement)).all():
            if at is not None and (connection_id not in earliest or at < earliest[connection_id]):
                earliest[connection_id] = at
    return earliest


async def open_conflicts_by_connection(
    session: AsyncSession, *, connection_ids: ConnectionIds
) -> dict[int, int]:
    is_open = SyncConflict.status == ConflictStatus.OPEN
    return await _count_by_connection(session, SyncConflict.connection_id, connection_ids, is_open)


async def quarantined_by_connection(
    session: AsyncSession, *, connection_ids: ConnectionIds
) -> dict[int, int]:
    return await _count_by_connection(session, SyncQuarantine.connection_id, connection_ids)


async def pending_changes_by_connection(
    session: AsyncSession, *, connection_ids: ConnectionIds
) -> dict[int, int]:
    """Per connection: its tenant's lists and items whose version moved since their ledger
    row, or live ones without one."""
    totals: Counter[int] = Counter()
    for kind, model in (("list", TodoList), ("item", TodoItem)):
        joined = sa.and_(
            SyncState.connection_id == Connection.id,
            SyncState.kind == kind,
            SyncState.local_id == model.id,
        )
        pending = sa.or_(
            sa.and_(SyncState.id.is_(None), model.deleted_at.is_(None)),
            sa.and_(SyncState.id.is_not(None), SyncState.local_version != model.version),
        )
        statement = (
            sa.select(Connection.id, sa.func.count())
            .select_from(model)
            .join(Connection, Connection.tenant_id == model.tenant_id)
            .outerjoin(SyncState, joined)
            .where(pending, *_among(Connection.id, connection_ids))
            .group_by(Connection.id)
        )
        totals.update({c: int(n) for c, n in (await session.execute(statement)).all()})
    return dict(totals)


async def _count_by_connection(
    session: AsyncSession,
    column: InstrumentedAttribute[int],
    connection_ids: ConnectionIds,
    *conditions: sa.ColumnElement[bool],
) -> dict[int, int]:
    statement = (
        sa.select(column, sa.func.count())
        .where(*conditions, *_among(column, connection_ids))
        .group_by(column)
    )
    return {c: int(n) for c, n in (await session.execute(statement)).all()}


def _among(column: Any, connection_ids: ConnectionIds) -> tuple[sa.ColumnElement[bool], ...]:
    return () if connection_ids is None else (column.in_(list(connection_ids)),)


# -- conflicts, history, quarantine --------------------------------------------------------------


async def page_conflicts(
    session: AsyncSession,
    *,
    connection_id: int,
    status: ConflictStatus,
    after_id: int,
    limit: int,
) -> Sequence[SyncConflict]:
    statement = (
        sa.select(SyncConflict)
        .where(SyncConflict.connection_id == connection_id, SyncConflict.status == status)
        .where(SyncConflict.id > after_id)
        .order_by(SyncConflict.id)
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def get_conflict(
    session: AsyncSession, *, connection_id: int, conflict_id: int, for_update: bool = False
) -> SyncConflict | None:
    statement = sa.select(SyncConflict).where(
        SyncConflict.id == conflict_id, SyncConflict.connection_id == connection_id
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def item_list_id(session: AsyncSession, *, tenant_id: int, item_id: int) -> int | None:
    """The list of the tenant's live item, or None."""
    statement = sa.select(TodoItem.list_id).where(
        TodoItem.id == item_id, TodoItem.tenant_id == tenant_id, TodoItem.deleted_at.is_(None)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def page_history(
    session: AsyncSession,
    *,
    connection_id: int,
    kind: str,
    local_id: int,
    after_id: int,
    limit: int,
) -> Sequence[SyncLog]:
    statement = (
        sa.select(SyncLog)
        .where(SyncLog.connection_id == connection_id, SyncLog.kind == kind)
        .where(SyncLog.local_id == local_id, SyncLog.id > after_id)
        .order_by(SyncLog.id)
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def has_history(
    session: AsyncSession, *, connection_id: int, kind: str, local_id: int
) -> bool:
    """Whether any log entry of the connection is about this local entity."""
    statement = sa.select(SyncLog.id).where(
        SyncLog.connection_id == connection_id, SyncLog.kind == kind, SyncLog.local_id == local_id
    )
    return (await session.execute(statement.limit(1))).first() is not None


async def page_quarantine(
    session: AsyncSession, *, connection_id: int, after_id: int, limit: int
) -> Sequence[SyncQuarantine]:
    statement = (
        sa.select(SyncQuarantine)
        .where(SyncQuarantine.connection_id == connection_id, SyncQuarantine.id > after_id)
        .order_by(SyncQuarantine.id)
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def get_quarantine(
    session: AsyncSession, *, connection_id: int, quarantine_id: int
) -> SyncQuarantine | None:
    statement = sa.select(SyncQuarantine).where(
        SyncQuarantine.id == quarantine_id, SyncQuarantine.connection_id == connection_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def delete_quarantine(session: AsyncSession, *, connection_id: int) -> int:
    """Deletes every quarantine row of the connection; returns how many there were."""
    result = await session.execute(
        sa.delete(SyncQuarantine).where(SyncQuarantine.connection_id == connection_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def changed_entities(
    session: AsyncSession, *, run_id: int, limit: int
) -> Sequence[tuple[str, int, str, str]]:
    """(kind, local id, action, side) of the entities a run changed, in log order, at most
    `limit` (the live events summarise past that)."""
    statement = (
        sa.select(SyncLog.kind, SyncLog.local_id, SyncLog.action, SyncLog.side)
        .where(SyncLog.run_id == run_id, SyncLog.outcome == "ok", SyncLog.local_id.is_not(None))
        .order_by(SyncLog.id)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [(k, int(i or 0), a, s) for k, i, a, s in rows]


async def opened_conflicts(session: AsyncSession, *, run_id: int) -> Sequence[int]:
    """The ids of the conflicts a run opened."""
    statement = sa.select(SyncConflict.id).where(SyncConflict.run_id == run_id)
    return list((await session.execute(statement.order_by(SyncConflict.id))).scalars())


async def last_finished_runs(
    session: AsyncSession, *, connection_id: int, count: int
) -> Sequence[sa.Row[int, str, str | None]]:
    """(id, status, reason) of the connection's last `count` finished syncs, newest first
    (dry runs are plans, not syncs)."""
    statement = (
        sa.select(SyncRun.id, SyncRun.status, SyncRun.reason)
        .where(SyncRun.connection_id == connection_id, SyncRun.dry_run.is_(False))
        .where(SyncRun.finished_at.is_not(None), SyncRun.status != RunStatus.QUEUED)
        .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc())
        .limit(count)
    )
    return (await session.execute(statement)).all()
