"""Every query on the event table. Reads are scoped to one tenant; only retention deletes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.history.models import EntityEvent

__all__ = [
    "delete_events",
    "entity_events",
    "events_of",
    "events_of_entities",
    "foldable_entities",
    "has_events",
    "item_events_of_list",
    "list_events",
    "page_versions",
    "tenant_events",
    "tenants_with_events_before",
]

# Ids above the BIGINT range cannot exist; they are never sent to the database.
_MAX_ID = 2**63 - 1


def _known(statement: sa.Select[EntityEvent], known_at: datetime | None) -> sa.Select[EntityEvent]:
    # valid time is filtered by the fold: a late event may move what an earlier one meant
    if known_at is None:
        return statement
    return statement.where(EntityEvent.recorded_at <= known_at)


async def entity_events(
    session: AsyncSession, *, tenant_id: int, kind: str, entity_id: int, known_at: datetime | None
) -> Sequence[EntityEvent]:
    """One entity's events recorded by `known_at` (all of them for None), by id."""
    if not 1 <= entity_id <= _MAX_ID:
        return []
    statement = sa.select(EntityEvent).where(
        EntityEvent.tenant_id == tenant_id,
        EntityEvent.kind == kind,
        EntityEvent.entity_id == entity_id,
    )
    result = await session.execute(_known(statement, known_at).order_by(EntityEvent.id))
    return result.scalars().all()


async def events_of_entities(
    session: AsyncSession, *, tenant_id: int, kind: str, entity_ids: Sequence[int]
) -> Sequence[EntityEvent]:
    """Every event of these entities of one kind, by id."""
    statement = (
        sa.select(EntityEvent)
        .where(
            EntityEvent.tenant_id == tenant_id,
            EntityEvent.kind == kind,
            EntityEvent.entity_id.in_(entity_ids),
        )
        .order_by(EntityEvent.id)
    )
    return (await session.execute(statement)).scalars().all()


async def item_events_of_list(
    session: AsyncSession, *, tenant_id: int, list_id: int, known_at: datetime | None
) -> Sequence[EntityEvent]:
    """The events of every item that was ever in the list, recorded by `known_at`."""
    if not 1 <= list_id <= _MAX_ID:
        return []
    statement = sa.select(EntityEvent).where(
        EntityEvent.tenant_id == tenant_id,
        EntityEvent.list_id == list_id,
        EntityEvent.kind == "item",
    )
    result = await session.execute(_known(statement, known_at).order_by(EntityEvent.id))
    return result.scalars().all()


async def list_events(
    session: AsyncSession, *, tenant_id: int, known_at: datetime | None
) -> Sequence[EntityEvent]:
    """The events of every list the tenant ever had, recorded by `known_at`."""
    statement = sa.select(EntityEvent).where(
        EntityEvent.tenant_id == tenant_id, EntityEvent.kind == "list"
    )
    result = await session.execute(_known(statement, known_at).order_by(EntityEvent.id))
    return result.scalars().all()


async def tenant_events(session: AsyncSession, *, tenant_id: int) -> Sequence[EntityEvent]:
    """Every event of the tenant, by id (a rebuild or a retention pass reads them)."""
    statement = sa.select(EntityEvent).where(EntityEvent.tenant_id == tenant_id)
    return (await session.execute(statement.order_by(EntityEvent.id))).scalars().all()


async def has_events(session: AsyncSession, *, tenant_id: int, kind: str, entity_id: int) -> bool:
    if not 1 <= entity_id <= _MAX_ID:
        return False
    statement = sa.select(
        sa.exists().where(
            EntityEvent.tenant_id == tenant_id,
            EntityEvent.kind == kind,
            EntityEvent.entity_id == entity_id,
        )
    )
    return bool((await session.execute(statement)).scalar())


async def page_versions(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: str,
    entity_id: int,
    list_id: int | None,
    after_id: int,
    limit: int,
) -> Sequence[EntityEvent]:
    """Up to `limit` events of one entity with ids above `after_id`, oldest first; an item's
    only when it is (or was) in `list_id`."""
    if not 1 <= entity_id <= _MAX_ID:
        return []
    statement = sa.select(EntityEvent).where(
        EntityEvent.tenant_id == tenant_id,
        EntityEvent.kind == kind,
        EntityEvent.entity_id == entity_id,
        EntityEvent.id > after_id,
    )
    if list_id is not None:
        statement = statement.where(EntityEvent.list_id == list_id)
    result = await session.execute(statement.order_by(EntityEvent.id).limit(limit))
    return result.scalars().all()


_TENANTS = sa.table("tenants", sa.column("id"))  # the store's table, read by id only


async def tenants_with_events_before(session: AsyncSession, *, cutoff: datetime) -> list[int]:
    """The tenants that have events recorded before `cutoff` (retention's work list): one
    indexed probe per tenant, never a scan of the events."""
    older = sa.exists().where(
        EntityEvent.tenant_id == _TENANTS.c.id, EntityEvent.recorded_at < cutoff
    )
    statement = sa.select(_TENANTS.c.id).where(older).order_by(_TENANTS.c.id)
    return [int(i) for i in (await session.execute(statement)).scalars().all()]


async def delete_events(session: AsyncSession, *, ids: Sequence[int]) -> int:
    """Deletes events by id (retention only)."""
    deleted = 0
    for start in range(0, len(ids), 1_000):  # bounded IN lists
        chunk = ids[start : start + 1_000]
        result = await session.execute(sa.delete(EntityEvent).where(EntityEvent.id.in_(chunk)))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


def _foldable(cutoff: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """Events that every time inside the window sees: happened and recorded before it."""
    return (EntityEvent.recorded_at < cutoff, EntityEvent.valid_at < cutoff)


async def foldable_entities(
    session: AsyncSession, *, tenant_id: int, cutoff: datetime, after: tuple[str, int], limit: int
) -> list[tuple[str, int]]:
    """Up to `limit` entities, by (kind, id) above `after`, with foldable events that are not
    baselines already (an entity folded before and unchanged since is not worked again)."""
    kind, entity_id = after
    statement = (
        sa.select(EntityEvent.kind, EntityEvent.entity_id)
        .where(EntityEvent.tenant_id == tenant_id, *_foldable(cutoff))
        .where(EntityEvent.operation != "baseline")
        .where(sa.tuple_(EntityEvent.kind, EntityEvent.entity_id) > sa.tuple_(kind, entity_id))
        .distinct()
        .order_by(EntityEvent.kind, EntityEvent.entity_id)
        .limit(limit)
    )
    return [(k, int(i)) for k, i in (await session.execute(statement)).all()]


async def events_of(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: str,
    entity_ids: Sequence[int],
    cutoff: datetime,
) -> tuple[Sequence[EntityEvent], set[int]]:
    """The foldable events of these entities, and the ids among them that have later ones."""
    scope = (
        EntityEvent.tenant_id == tenant_id,
        EntityEvent.kind == kind,
        EntityEvent.entity_id.in_(entity_ids),
    )
    old = sa.select(EntityEvent).where(*scope, *_foldable(cutoff)).order_by(EntityEvent.id)
    later = (
        sa.select(EntityEvent.entity_id)
        .where(*scope, sa.not_(sa.and_(*_foldable(cutoff))))
        .distinct()
    )
    events = (await session.execute(old)).scalars().all()
    return events, {int(i) for i in (await session.execute(later)).scalars().all()}
