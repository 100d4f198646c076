"""History retention: events older than the window fold into one baseline event per entity.

An event is foldable when both its times lie before the cutoff (now minus
`HISTORY_RETENTION_DAYS`): every query inside the window counts it. An entity's foldable
events are replaced by one `baseline` (actor `retention`) holding the state they add up to,
at the latest of their valid and of their recorded times; the reads refuse times before the
window (422), so nothing can ask for what the fold merged. An entity deleted before the
cutoff and untouched since leaves no event at all. Works in batches of entities, one short
transaction each (SQLite's write lock is never held for long).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import iso_utc
from todosync.history import fold, record, repository
from todosync.history.models import EntityEvent

__all__ = ["fold_tenant", "fold_window"]

_BATCH = 500
_RETENTION = record.Actor("retention")


async def fold_window(sessionmaker: async_sessionmaker[AsyncSession], *, cutoff: datetime) -> int:
    """Folds every tenant's events from before `cutoff`; returns how many events went."""
    async with sessionmaker() as session:
        tenants = await repository.tenants_with_events_before(session, cutoff=cutoff)
    removed = 0
    for tenant_id in tenants:
        removed += await fold_tenant(sessionmaker, tenant_id=tenant_id, cutoff=cutoff)
    return removed


async def fold_tenant(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: int, cutoff: datetime
) -> int:
    """Folds one tenant's events from before `cutoff`, a batch of entities at a time."""
    removed = 0
    after: tuple[str, int] = ("", 0)
    while True:
        async with sessionmaker.begin() as session:
            keys = await repository.foldable_entities(
                session, tenant_id=tenant_id, cutoff=cutoff, after=after, limit=_BATCH
            )
            for kind in ("list", "item"):
                ids = [entity_id for k, entity_id in keys if k == kind]
                if ids:
                    removed += await _fold(session, tenant_id, kind, ids, cutoff=cutoff)
        if len(keys) < _BATCH:
            return removed
        after = keys[-1]


async def _fold(
    session: AsyncSession, tenant_id: int, kind: str, ids: Sequence[int], *, cutoff: datetime
) -> int:
    events, has_later = await repository.events_of(
        session, tenant_id=tenant_id, kind=kind, entity_ids=ids, cutoff=cutoff
    )
    by_entity: dict[int, list[EntityEvent]] = {}
    for event in events:
        by_entity.setdefault(event.entity_id, []).append(event)
    baselines = [
        _baseline(tenant_id, group)
        for entity_id, group in by_entity.items()
        if entity_id in has_later or _alive(group)
    ]
    await repository.delete_events(session, ids=[e.id for e in events])
    await record.append(session, baselines)
    return len(events) - len(baselines)


def _alive(group: Sequence[EntityEvent]) -> bool:
    state = next(iter(fold.fold(group).values()))
    return state.alive


def _baseline(tenant_id: int, group: Sequence[EntityEvent]) -> record.EventRow:
    """One event that stands for `group` (one entity's foldable events)."""
    state = next(iter(fold.fold(group).values()))
    created_at = state.created_at or min(e.valid_at for e in group)
    journal = record.Journal(tenant_id, _RETENTION)
    journal.add(
        "baseline",
        "list" if state.kind == "list" else "item",
        state.entity_id,
        list_id=state.list_id,
        before={"created_at": iso_utc(created_at)},
        after=state.fields if state.alive else None,
        valid_at=max(e.valid_at for e in group),
        recorded_at=max(e.recorded_at for e in group),
    )
    return journal.take()[0]
