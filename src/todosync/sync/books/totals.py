"""Aggregate reads over finished runs: what metrics and the adaptive scheduler summarise.

Dry runs are left out everywhere: they are plans, not syncs. Callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.sync.books import run_status
from todosync.sync.books.models import SyncRun
from todosync.sync.books.run_status import RunStatus

__all__ = ["LastRun", "entity_totals", "last_runs", "recent_changes", "run_totals"]

_SIDE_ACTIONS = ("created", "updated", "deleted")
_OTHER_ACTIONS = ("conflicts", "skipped", "quarantined", "failed")


@dataclass(frozen=True, slots=True)
class LastRun:
    status: str
    agreed_since: datetime  # when both sides last agreed (or the first run, if never)


def _finished() -> tuple[sa.ColumnElement[bool], ...]:
    return (SyncRun.finished_at.is_not(None), SyncRun.dry_run.is_(False))


async def run_totals(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Finished runs of every connection, counted per (status, trigger)."""
    statement = (
        sa.select(SyncRun.status, SyncRun.trigger, sa.func.count())
        .where(*_finished())
        .group_by(SyncRun.status, SyncRun.trigger)
    )
    return {(s, t): int(n) for s, t, n in (await session.execute(statement)).all()}


async def entity_totals(session: AsyncSession) -> dict[tuple[str, str], int]:
    """The runs' `counts` documents summed per (action, side), in the database (JSON paths
    work on both dialects); actions that belong to no side have side "any"."""
    paths: list[tuple[tuple[str, ...], str, str]] = [
        ((side, action), side, action) for side in ("local", "remote") for action in _SIDE_ACTIONS
    ]
    paths += [((action,), "any", action) for action in _OTHER_ACTIONS]
    columns = [
        sa.func.coalesce(sa.func.sum(SyncRun.counts[path].as_integer()), 0) for path, _, _ in paths
    ]
    row = (await session.execute(sa.select(*columns).where(*_finished()))).one()
    return {(action, side): int(total) for (_, side, action), total in zip(paths, row, strict=True)}


async def last_runs(session: AsyncSession) -> dict[int, LastRun]:
    """Per connection with a finished sync: the status of its last one, and when both sides
    last agreed (its last `ok` run, else its first run: never agreed). Two statements for any
    number of connections."""
    newest_first = (SyncRun.finished_at.desc(), SyncRun.id.desc())
    ranked = (
        sa.select(
            SyncRun.connection_id,
            SyncRun.status,
            sa.func.row_number()
            .over(partition_by=SyncRun.connection_id, order_by=newest_first)
            .label("newest"),
        )
        .where(*_finished())
        .subquery()
    )
    statuses = await session.execute(
        sa.select(ranked.c.connection_id, ranked.c.status).where(ranked.c.newest == 1)
    )
    ok_finished = sa.case((SyncRun.status == RunStatus.OK, SyncRun.finished_at))
    times = await session.execute(
        sa.select(SyncRun.connection_id, sa.func.max(ok_finished), sa.func.min(SyncRun.created_at))
        .where(*_finished())
        .group_by(SyncRun.connection_id)
    )
    since = {connection_id: agreed or first for connection_id, agreed, first in times.all()}
    return {
        connection_id: LastRun(status=status, agreed_since=since[connection_id])
        for connection_id, status in statuses.all()
    }


async def recent_changes(
    session: AsyncSession, *, connection_id: int, since: datetime
) -> list[tuple[datetime, int]]:
    """(finished at, entities changed on either side) of each finished run since `since`."""
    statement = (
        sa.select(SyncRun.finished_at, SyncRun.counts)
        .where(SyncRun.connection_id == connection_id, SyncRun.status.in_(run_status.FINISHED))
        .where(*_finished(), SyncRun.finished_at >= since)
        .order_by(SyncRun.id)
    )
    return [(at, _changes(counts)) for at, counts in await session.execute(statement)]


def _changes(counts: dict[str, Any] | None) -> int:
    total = 0
    for side in ("local", "remote"):
        per_side = (counts or {}).get(side) or {}
        total += sum(int(per_side.get(key, 0)) for key in _SIDE_ACTIONS)
    return total
