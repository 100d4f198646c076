"""Writing events: an `Actor`, a `Journal` that collects one transaction's events, and `append`,
which writes them in one INSERT. Every writer of lists and items (`store.service`,
`store.bulk`) fills a journal; whoever owns the transaction appends it before committing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.history.models import EntityEvent

__all__ = ["API", "Actor", "ActorKind", "Journal", "Kind", "Operation", "append"]

ActorKind = Literal["api", "sync", "conflict", "retention"]
Operation = Literal["created", "updated", "deleted", "restored", "baseline"]
Kind = Literal["list", "item"]
_EVENTS = cast(sa.Table, EntityEvent.__table__)
# Built once: executed with a list of rows it is one executemany, i.e. one INSERT per batch.
_INSERT = sa.insert(_EVENTS)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: `api` (the token's id), `sync` (the run's id), `conflict` (the
    conflict's id) or `retention` (no id: a baseline folded from older events)."""

    kind: ActorKind
    id: int | None = None


API = Actor("api")  # an API write whose token is not known (tests, scripts)


@dataclass(slots=True)
class Journal:
    """The events of one transaction, in the order of the changes, for one tenant and actor."""

    tenant_id: int
    actor: Actor
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        operation: Operation,
        kind: Kind,
        entity_id: int,
        *,
        list_id: int | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        valid_at: datetime,
        recorded_at: datetime,
    ) -> None:
        """Notes one change; `list_id` is an item's list (None for a list)."""
        self.rows.append(
            {
                "tenant_id": self.tenant_id,
                "kind": kind,
                "entity_id": entity_id,
                "list_id": list_id,
                "operation": operation,
                "before": None if before is None else dict(before),
                "after": None if after is None else dict(after),
                "actor_kind": self.actor.kind,
                "actor_id": self.actor.id,
                "valid_at": valid_at,
                "recorded_at": recorded_at,
            }
        )

    def take(self) -> list[dict[str, Any]]:
        """The collected rows; the journal is empty afterwards."""
        rows, self.rows = self.rows, []
        return rows


async def append(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Writes events in the caller's transaction, in one statement (nothing when empty)."""
    if rows:
        await session.execute(_INSERT, list(rows))
