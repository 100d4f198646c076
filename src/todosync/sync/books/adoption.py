"""What a lost create sent: the base that an adoption merges against.

A POST whose answer was lost lands remotely, and the next pull adopts the copy by its
`source_id`. Without a base, each field that differs would go to whichever side was edited
later, and an edit made on the other side since the POST would be lost. The history knows
what the local entity was when the copy landed: its events recorded by the remote copy's
`created_at` (moved into local time by the run's clock skew). That state is what the POST
carried, short of an edit made between the read and the landing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.external.schemas import RemoteList
from todosync.history import fold, repository
from todosync.history.models import EntityEvent
from todosync.sync.core.fields import Fields
from todosync.sync.core.snapshot import LedgerRow, LocalRow

__all__ = ["bases"]


async def bases(
    session: AsyncSession,
    *,
    tenant_id: int,
    local: Sequence[LocalRow],
    ledger: Sequence[LedgerRow],
    remote_lists: Sequence[RemoteList],
    skew_s: float,
) -> dict[str, Fields]:
    """By local uid: the fields each unmapped local entity had when its remote copy (the
    pulled entity whose `source_id` is its uid) was created; entities whose history does not
    reach back that far are left out (the planner then goes by the later write)."""
    mapped = {(row.kind, row.local_id) for row in ledger}
    unmapped = {row.uid: row for row in local if (row.kind, row.id) not in mapped}
    if not unmapped:
        return {}  # the usual run: nothing to adopt, no remote scan
    landed = {
        source_id: created_at - timedelta(seconds=skew_s)
        for source_id, created_at in _sources(remote_lists)
        if source_id in unmapped
    }
    found: dict[str, Fields] = {}
    for kind in ("list", "item"):
        rows = {unmapped[uid].id: uid for uid in landed if unmapped[uid].kind == kind}
        if not rows:
            continue
        events = await repository.events_of_entities(
            session, tenant_id=tenant_id, kind=kind, entity_ids=sorted(rows)
        )
        by_entity: dict[int, list[EntityEvent]] = defaultdict(list)
        for event in events:
            by_entity[event.entity_id].append(event)
        for entity_id, uid in rows.items():
            state = fold.fold(by_entity[entity_id], known_at=landed[uid]).get((kind, entity_id))
            names = unmapped[uid].fields.keys()
            if state is not None and state.alive and names <= state.fields.keys():
                found[uid] = {name: state.fields[name] for name in names}
    return found


def _sources(remote_lists: Sequence[RemoteList]) -> Iterator[tuple[str, datetime]]:
    # a copy without `created_at` (the contract allows it) has no known landing time
    for remote in remote_lists:
        if remote.source_id and remote.created_at is not None:
            yield remote.source_id, remote.created_at
        for item in remote.items:
            if item.source_id and item.created_at is not None:
                yield item.source_id, item.created_at
