"""Queries for run records, the per-entity log and conflicts. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import utc_now
from todosync.sync.models import SyncConflict, SyncLog, SyncRun

__all__ = [
    "add_conflicts",
    "add_log_entries",
    "create_run",
    "finish_run",
    "get_run",
    "mark_running",
    "touch_run",
]


async def create_run(
    session: AsyncSession,
    *,
    connection_id: int,
    trigger: str,
    status: str,
    dry_run: bool = False,
    allow_mass_delete: bool = False,
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
        list_id=list_id,
        created_at=now,
        run_after=run_after,
        started_at=now if status == "running" else None,
        heartbeat_at=now if status == "running" else None,
        counts={},
        errors=[],
    )
    session.add(run)
    await session.flush()
    return run


async def get_run(session: AsyncSession, run_id: int) -> SyncRun | None:
    return await session.get(SyncRun, run_id)


async def mark_running(session: AsyncSession, run_id: int) -> None:
    now = utc_now()
    await session.execute(
        sa.update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(status="running", started_at=now, heartbeat_at=now)
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
    if entries:
        await session.execute(sa.insert(SyncLog), list(entries))


async def add_conflicts(session: AsyncSession, conflicts: Sequence[dict[str, Any]]) -> None:
    if conflicts:
        await session.execute(sa.insert(SyncConflict), list(conflicts))
