"""Writing events: an `Actor`, a `Journal` that collects one transaction's events, and `append`,
which writes them in one INSERT. Every writer of lists and items (`store.service`,
`store.bulk`) fills a journal; whoever owns the transaction appends it before committing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.db import bulk_insert
from todosync.history.models import EntityEvent

__all__ = ["API", "Actor", "ActorKind", "EventRow", "Journal", "Kind", "Operation", "append"]

ActorKind = Literal["api", "sync", "conflict", "retention"]
Operation = Literal["created", "updated", "deleted", "restored", "baseline"]
Kind = Literal["list", "item"]
_EVENTS = cast(sa.Table, EntityEvent.__table__)


# One event as the journal keeps it, in the table's column order (see `_COLUMNS`), its
# fields already JSON: plain tuples are the cheapest thing to build 100k times.
EventRow = tuple[
    int, str, int, int | None, str, str | None, str | None, str, int | None, datetime, datetime
]


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
    rows: list[EventRow] = field(default_factory=list)

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
            (
                self.tenant_id,
                kind,
                entity_id,
                list_id,
                operation,
                _json(before),
                _json(after),
                self.actor.kind,
                self.actor.id,
                valid_at,
                recorded_at,
            )
        )

    def take(self) -> list[EventRow]:
        """The collected rows; the journal is empty afterwards."""
        rows, self.rows = self.rows, []
        return rows


async def append(session: AsyncSession, rows: Sequence[EventRow]) -> None:
    """Writes events in the caller's transaction, in one statement (nothing when empty)."""
    # Straight to the driver (`db.bulk_insert`), with the JSON encoded by msgspec as each
    # event is noted: SQLAlchemy's per-value bind processing (JSON through the stdlib, two
    # datetimes) tripled the cost of a 100k-item import's events.
    await bulk_insert.insert(session, _EVENTS, _COLUMNS, rows)


_COLUMNS = (
    "tenant_id",
    "kind",
    "entity_id",
    "list_id",
    "operation",
    "before",
    "after",
    "actor_kind",
    "actor_id",
    "valid_at",
    "recorded_at",
)


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()
