"""Writing events: an `Actor`, a `Journal` that collects one transaction's events, and `append`,
which writes them in one INSERT. Every writer of lists and items (`store.service`,
`store.bulk`) fills a journal; whoever owns the transaction appends it before committing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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
    if not rows:
        return
    connection = await session.connection()
    statement, to_params = _driver_insert(connection.dialect)
    # Straight to the driver's executemany, with the JSON encoded (by msgspec) as each event
    # is noted: SQLAlchemy's per-value bind processing (JSON through the stdlib, two
    # datetimes) tripled the cost of a 100k-item import's events.
    await connection.exec_driver_sql(statement, [to_params(row) for row in rows])


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
_JSON_COLUMNS = frozenset({"before", "after"})


_Driver = tuple[str, Callable[["EventRow"], tuple[Any, ...]]]
_DRIVERS: dict[tuple[str, str], _Driver] = {}  # by dialect name and parameter style


def _driver_insert(dialect: sa.Dialect) -> _Driver:
    key = (dialect.name, dialect.paramstyle)
    if key not in _DRIVERS:
        _DRIVERS[key] = _build_driver_insert(dialect)
    return _DRIVERS[key]


def _build_driver_insert(dialect: sa.Dialect) -> _Driver:
    """The INSERT in the driver's own parameter style, and how a row becomes its parameters:
    JSON encoded by msgspec, times through `UTCDateTime`'s own processor (so that SQLite
    stores them exactly as every other statement does)."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    # PostgreSQL needs the cast for a text parameter; SQLite would turn it into a number.
    json_mark = f"CAST({mark} AS JSON)" if dialect.name == "postgresql" else mark
    marks = ", ".join(json_mark if c in _JSON_COLUMNS else mark for c in _COLUMNS)
    # only constant names and placeholders: every value goes as a parameter
    statement = f"INSERT INTO {_EVENTS.name} ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608
    processor = _EVENTS.c.valid_at.type.bind_processor(dialect)
    # A batch's events share a few times (one write time; remote times often repeat):
    # each distinct one is converted once. Bounded, since the process lives long.
    converted: dict[datetime, Any] = {}

    def time_of(value: datetime) -> Any:
        found = converted.get(value)
        if found is None:
            if len(converted) > 10_000:
                converted.clear()
            found = converted[value] = value if processor is None else processor(value)
        return found

    def to_params(row: EventRow) -> tuple[Any, ...]:
        return (*row[:9], time_of(row[9]), time_of(row[10]))

    return statement, to_params


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()
