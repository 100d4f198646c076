"""What the history API does: the state of lists and items at a valid time `as_of` as known at
a recorded time `known_at`, and an entity's versions.

Times must lie inside the retention window (`window_start` .. now): a future time, or one
before the window (whose events are folded into baselines), is `ValidationFailed` (422).
Another tenant's ids, and entities that did not exist at `as_of`, are `NotFoundError` (404).
Functions only read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import ensure_utc, iso_utc, utc_now
from todosync.db.page import Page
from todosync.errors import NotFoundError, ValidationFailed
from todosync.history import fold, repository
from todosync.history.models import EntityEvent

__all__ = [
    "Moment",
    "entity_versions",
    "get_list",
    "item_versions",
    "list_items",
    "list_lists",
    "list_versions",
    "moment",
]


@dataclass(frozen=True, slots=True)
class Moment:
    """A point on both axes: valid time `as_of`, recorded time `known_at`."""

    as_of: datetime
    known_at: datetime


def moment(
    *,
    as_of: datetime,
    known_at: datetime | None,
    retention_days: float,
    now: datetime | None = None,
) -> Moment:
    """The checked point: `known_at` defaults to now; both must lie in the window."""
    now = now or utc_now()
    window_start = now - timedelta(days=retention_days)
    checked = Moment(ensure_utc(as_of), ensure_utc(known_at) if known_at else now)
    for name, value in (("as_of", checked.as_of), ("known_at", checked.known_at)):
        if value > now:
            raise ValidationFailed(f"{name}: {iso_utc(value)} is in the future")
        if value < window_start:
            raise ValidationFailed(
                f"{name}: {iso_utc(value)} is before the history window, which starts at "
                f"{iso_utc(window_start)} (HISTORY_RETENTION_DAYS={retention_days:g})"
            )
    return checked


async def get_list(
    session: AsyncSession, list_id: int, *, tenant_id: int, at: Moment
) -> fold.State:
    """The list as it was at `at`, or `NotFoundError` when it did not exist then."""
    events = await repository.entity_events(
        session, tenant_id=tenant_id, kind="list", entity_id=list_id, known_at=at.known_at
    )
    state = fold.fold(events, as_of=at.as_of).get(("list", list_id))
    if state is None or not state.alive:
        raise NotFoundError(f"list {list_id} not found at {iso_utc(at.as_of)}")
    return state


async def list_lists(
    session: AsyncSession, *, tenant_id: int, at: Moment, after_id: int, limit: int
) -> Page[fold.State]:
    """One page of the lists alive at `at`, by id. The fold reads every list event of the
    tenant (lists are few next to items; items are never read here)."""
    events = await repository.list_events(session, tenant_id=tenant_id, known_at=at.known_at)
    return _page(fold.fold(events, as_of=at.as_of).values(), after_id=after_id, limit=limit)


async def list_items(
    session: AsyncSession, list_id: int, *, tenant_id: int, at: Moment, after_id: int, limit: int
) -> Page[fold.State]:
    """One page of the list's items alive at `at`, by id; `NotFoundError` when the list did
    not exist then."""
    await get_list(session, list_id, tenant_id=tenant_id, at=at)
    events = await repository.item_events_of_list(
        session, tenant_id=tenant_id, list_id=list_id, known_at=at.known_at
    )
    return _page(fold.fold(events, as_of=at.as_of).values(), after_id=after_id, limit=limit)


async def list_versions(
    session: AsyncSession, list_id: int, *, tenant_id: int, after_id: int, limit: int
) -> Page[EntityEvent]:
    """One page of a list's versions (its events), oldest first; deleted lists keep theirs."""
    return await _versions(
        session, "list", list_id, tenant_id=tenant_id, list_id=None, after_id=after_id, limit=limit
    )


async def item_versions(
    session: AsyncSession,
    item_id: int,
    *,
    tenant_id: int,
    list_id: int,
    after_id: int,
    limit: int,
) -> Page[EntityEvent]:
    """One page of an item's versions, oldest first; `NotFoundError` unless it is (or was)
    an item of the tenant's list `list_id`."""
    return await _versions(
        session,
        "item",
        item_id,
        tenant_id=tenant_id,
        list_id=list_id,
        after_id=after_id,
        limit=limit,
    )


async def entity_versions(
    session: AsyncSession,
    kind: str,
    entity_id: int,
    *,
    tenant_id: int,
    after_id: int,
    limit: int,
) -> Page[EntityEvent]:
    """One page of a list's or item's versions by its id alone (the dashboard's run log
    knows an item's id, not always its list), oldest first; `NotFoundError` for none."""
    return await _versions(
        session,
        kind,
        entity_id,
        tenant_id=tenant_id,
        list_id=None,
        after_id=after_id,
        limit=limit,
    )


async def _versions(
    session: AsyncSession,
    kind: str,
    entity_id: int,
    *,
    tenant_id: int,
    list_id: int | None,
    after_id: int,
    limit: int,
) -> Page[EntityEvent]:
    rows = await repository.page_versions(
        session,
        tenant_id=tenant_id,
        kind=kind,
        entity_id=entity_id,
        list_id=list_id,
        after_id=after_id,
        limit=limit + 1,
    )
    if not rows and after_id == 0:
        raise NotFoundError(f"{kind} {entity_id} not found")
    if len(rows) > limit:
        return Page(rows=rows[:limit], last_id=rows[limit - 1].id)
    return Page(rows=rows, last_id=None)


def _page(states: Iterable[fold.State], *, after_id: int, limit: int) -> Page[fold.State]:
    alive = sorted(
        (s for s in states if s.alive and s.entity_id > after_id), key=lambda s: s.entity_id
    )
    if len(alive) > limit:
        return Page(rows=alive[:limit], last_id=alive[limit - 1].entity_id)
    return Page(rows=alive, last_id=None)
