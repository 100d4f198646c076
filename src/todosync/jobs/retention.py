"""Run retention: finished runs older than `RUN_RETENTION_DAYS` go, with their log entries.

Each connection's newest finished run and newest `ok` run are always kept, however old: the
status shows them (`last_run`, `last_success_at`, `lag_s`). Conflicts outlive their run (their
`run_id` becomes null). Deletes go in batches, one transaction each, so that SQLite's write
lock is never held for long.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.sync.books import runs

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
            ids = await runs.old_run_ids(session, older_than=older_than, limit=_BATCH)
            if ids:
                await runs.delete_runs(session, ids)
        purged += len(ids)
        if len(ids) < _BATCH:
            return purged
