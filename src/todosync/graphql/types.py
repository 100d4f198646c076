"""The GraphQL object types. Sync types are read through the REST API's response models
(`sync.schemas`), so both APIs show a run, conflict or quarantined entity the same way."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from todosync.sync import schemas as sync_schemas
from todosync.sync.books.conflict_status import ConflictStatus as _ConflictStatus
from todosync.sync.books.run_status import RunStatus as _RunStatus

__all__ = [
    "Conflict",
    "ConflictStatus",
    "Connection",
    "Edge",
    "LogEntry",
    "PageInfo",
    "Quarantined",
    "ResolveChoice",
    "Run",
    "RunStatus",
    "SyncQueued",
    "SyncStatus",
]

NodeT = TypeVar("NodeT")

ConflictStatus = strawberry.enum(_ConflictStatus, name="ConflictStatus")
RunStatus = strawberry.enum(_RunStatus, name="RunStatus")


@strawberry.enum
class ResolveChoice(enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"
    VALUE = "value"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    """A Relay-style page: `first` (at most 200, like REST's `limit`) after a cursor."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo


@strawberry.type
class LogEntry:
    at: datetime
    kind: str
    local_id: strawberry.ID | None
    external_id: str | None
    action: str
    side: str
    fields: list[str]
    outcome: str
    reason: str | None

    @classmethod
    def of(cls, row: Any) -> LogEntry:
        out = sync_schemas.LogEntryOut.model_validate(row)
        return cls(**{**dict(out), "local_id": _id_or_none(out.local_id)})


@strawberry.type
class Run:
    id: strawberry.ID
    trigger: str
    status: RunStatus  # type: ignore[valid-type]
    dry_run: bool
    list_id: strawberry.ID | None
    started_at: datetime | None
    finished_at: datetime | None
    counts: JSON
    api_calls: int
    clock_skew_s: float | None
    errors: JSON
    reason: str | None
    log: list[LogEntry] | None = strawberry.field(
        default=None, description="The per-entity log: only on `run(id)`."
    )

    @classmethod
    def of(cls, row: Any, *, log: list[LogEntry] | None = None) -> Run:
        out = sync_schemas.RunOut.model_validate(row)
        values = dict(out)
        values.update(id=strawberry.ID(str(out.id)), list_id=_id_or_none(out.list_id))
        return cls(**values, log=log)


@strawberry.type
class SyncStatus:
    last_run: Run | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    circuit: str
    pending_changes: int
    open_conflicts: int
    quarantined: int
    lag_s: float | None


@strawberry.type
class Conflict:
    id: strawberry.ID
    entity: str
    entity_id: strawberry.ID
    field: str
    base: JSON
    local: JSON
    remote: JSON
    winner: str
    skew_s: float
    status: ConflictStatus  # type: ignore[valid-type]
    run_id: strawberry.ID | None
    created_at: datetime
    resolution: JSON | None

    @classmethod
    def of(cls, row: Any) -> Conflict:
        out = sync_schemas.ConflictOut.of(row)
        values = dict(out)
        values.update(
            id=strawberry.ID(str(out.id)),
            entity_id=strawberry.ID(str(out.entity_id)),
            run_id=_id_or_none(out.run_id),
        )
        return cls(**values)


@strawberry.type
class Quarantined:
    id: strawberry.ID
    entity: str
    external_id: str
    local_id: strawberry.ID | None
    reason: str
    attempts: int
    next_retry_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> Quarantined:
        out = sync_schemas.QuarantineOut.of(row)
        values = dict(out)
        values.update(id=strawberry.ID(str(out.id)), local_id=_id_or_none(out.local_id))
        return cls(**values)


@strawberry.type
class SyncQueued:
    run_id: strawberry.ID
    status: str = "queued"


def _id_or_none(value: int | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))
