"""Run retention: finished runs older than `RUN_RETENTION_DAYS` go, with their log entries.

Each connection's newest finished run and newest `ok` run are always kept, however old: the
status shows them (`last_run`, `last_success_at`, `lag_s`). Conflicts outlive their run (their
`run_id` becomes null). Deletes go in batches, one transaction each, so that SQLite's write
lock is never held for long.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.sync.books import run_status
from todosync.sync.books.models import SyncConflict, SyncLog, SyncRun
from todosync.sync.books.run_status import RunStatus

__all__ = ["purge_runs"]

_BATCH = 500


async def purge_runs(
    sessionmaker: async_sessionmaker[AsyncSession], *, older_than: datetime
) -> int:
    """Deletes finished runs that finished before `older_than` (see the module docstring);
    returns how many."""
    purged = 0
    while True:
        async with sessionmaker.begin() as session:
            ids = await _old_run_ids(session, older_than=older_than)
            if ids:
                await _delete_runs(session, ids)
        purged += len(ids)
        if len(ids) < _BATCH:
            return purged


async def _old_run_ids(session: AsyncSession, *, older_than: datetime) -> list[int]:
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
        .limit(_BATCH)
    )
    return list((await session.execute(statement)).scalars())


async def _delete_runs(session: AsyncSession, ids: list[int]) -> None:
    # Explicit rather than trusting ON DELETE: it does not depend on SQLite's foreign_keys pragma.
    await session.execute(sa.delete(SyncLog).where(SyncLog.run_id.in_(ids)))
    await session.execute(
        sa.update(SyncConflict).where(SyncConflict.run_id.in_(ids)).values(run_id=None)
    )
    await session.execute(sa.delete(SyncRun).where(SyncRun.id.in_(ids)))
