"""Queries of the periodic scheduler: its `SyncSchedule` rows.

Callers own the transaction; functions flush but never commit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.store.models import Connection, Tenant
from todosync.sync.books.models import SyncSchedule

__all__ = [
    "Schedulable",
    "claim",
    "clear",
    "forget",
    "list_schedules",
    "put",
    "schedulable_connections",
]


@dataclass(frozen=True, slots=True)
class Schedulable:
    """A connection that takes periodic runs, with its own interval (None: the settings')."""

    connection_id: int
    tenant_id: int
    interval_s: float | None


async def schedulable_connections(session: AsyncSession) -> list[Schedulable]:
    """Every enabled connection of every enabled tenant, oldest first (a disabled one, or
    one of a disabled tenant, does not sync)."""
    statement = (
        sa.select(Connection.id, Connection.tenant_id, Connection.interval_s)
        .join(Tenant, Tenant.id == Connection.tenant_id)
        .where(Tenant.disabled_at.is_(None), Connection.disabled_at.is_(None))
        .order_by(Connection.id)
    )
    return [Schedulable(*row) for row in (await session.execute(statement)).all()]


async def list_schedules(session: AsyncSession) -> Sequence[SyncSchedule]:
    return (await session.execute(sa.select(SyncSchedule))).scalars().all()


async def put(
    session: AsyncSession,
    *,
    connection_id: int,
    next_run_at: datetime,
    interval_s: float,
    now: datetime,
) -> None:
    """Sets a connection's next periodic run (creating its row if needed)."""
    row = await session.get(SyncSchedule, connection_id)
    if row is None:
        session.add(
            SyncSchedule(
                connection_id=connection_id,
                next_run_at=next_run_at,
                interval_s=interval_s,
                updated_at=now,
            )
        )
    else:
        row.next_run_at, row.interval_s, row.updated_at = next_run_at, interval_s, now
    await session.flush()


async def claim(
    session: AsyncSession,
    *,
    connection_id: int,
    due_at: datetime,
    next_run_at: datetime,
    interval_s: float,
    now: datetime,
) -> bool:
    """Moves a due periodic run to `next_run_at`, only if it is still due at `due_at`: of two
    schedulers that saw the same due time, one wins and queues the run."""
    result = await session.execute(
        sa.update(SyncSchedule)
        .where(SyncSchedule.connection_id == connection_id, SyncSchedule.next_run_at == due_at)
        .values(next_run_at=next_run_at, interval_s=interval_s, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(_rowcount(result))


async def clear(session: AsyncSession) -> None:
    """Forgets every periodic run (the scheduler is off)."""
    await session.execute(sa.delete(SyncSchedule))


async def forget(session: AsyncSession, connection_ids: Collection[int]) -> None:
    """Forgets the periodic runs of these connections (disabled, or set to no periodic runs),
    so that the status shows no next run for them."""
    if connection_ids:
        await session.execute(
            sa.delete(SyncSchedule).where(SyncSchedule.connection_id.in_(connection_ids))
        )


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
