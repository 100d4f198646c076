"""Request and response shapes of the sync part of the local API (`/api/sync...`).

Requests are strict and refuse unknown fields, like those of lists and items. Response
models read SQLAlchemy rows (`from_attributes`); timestamps are ISO 8601 UTC with a `Z`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic_core import PydanticCustomError

from todosync.store.schemas import Page, Timestamp, omittable
from todosync.sync.books.conflict_status import ConflictStatus
from todosync.sync.books.run_status import RunStatus

__all__ = [
    "MAX_DELAY_SECONDS",
    "ConflictOut",
    "ConflictPage",
    "HistoryEntryOut",
    "HistoryPage",
    "LogEntryOut",
    "QuarantineOut",
    "QuarantinePage",
    "ResolveRequest",
    "ResolveWithSide",
    "ResolveWithValue",
    "RunDetail",
    "RunOut",
    "RunPage",
    "StatusOut",
    "SyncQueued",
    "SyncRequest",
]

MAX_DELAY_SECONDS = 7 * 24 * 3600


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SyncRequest(_Request):
    """`POST /api/sync`: every field may be left out."""

    list_id: int | None = Field(
        default=None,
        ge=1,
        # no upper bound in the document (it would be rounded as a JSON number): a list id
        # above the BIGINT range names no list, hence a 404
        description="Sync only this local list.",
        json_schema_extra=omittable,
    )
    delay_seconds: float = Field(
        default=0, ge=0, le=MAX_DELAY_SECONDS, description="Run no sooner than this from now."
    )
    dry_run: bool = False
    allow_mass_delete: bool = False
    restore_remote: bool = Field(
        default=False,
        description=(
            "Treat the local side as the truth for what is missing remotely (an external "
            "account that was reset): push it again instead of deleting it here."
        ),
    )

    @field_validator("list_id", mode="before")
    @classmethod
    def _an_id(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("null_forbidden", "May be omitted, but not null")
        # JSON Schema counts 7.0 as an integer, so the document promises to accept it
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class SyncQueued(BaseModel):
    run_id: int
    status: Literal["queued"] = "queued"


class RunOut(_Response):
    id: int
    trigger: str
    status: RunStatus
    dry_run: bool
    list_id: int | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    counts: dict[str, Any]
    api_calls: int
    clock_skew_s: float | None
    errors: list[dict[str, Any]]
    reason: str | None
    """Why the run ended as it did when that is not an entity's error: what a `failed`,
    `degraded` or `held` run (or a `partial` one cut short) ran into; null otherwise."""


class LogEntryOut(_Response):
    at: Timestamp
    kind: str
    local_id: int | None
    external_id: str | None
    action: str
    side: str
    fields: list[str]
    outcome: str
    reason: str | None


class RunDetail(RunOut):
    """A run with its per-entity log; `plan` is the plan of a dry run (null otherwise)."""

    log: list[LogEntryOut]
    plan: list[dict[str, Any]] | None


class RunPage(Page[RunOut]):
    """A page of runs, newest first."""


class StatusOut(BaseModel):
    last_run: RunOut | None
    last_success_at: Timestamp | None
    next_run_at: Timestamp | None
    circuit: str
    pending_changes: int
    open_conflicts: int
    quarantined: int
    lag_s: float | None


class ConflictOut(BaseModel):
    id: int
    entity: str
    entity_id: int
    field: str
    base: JsonValue
    local: JsonValue
    remote: JsonValue
    winner: str
    skew_s: float
    status: ConflictStatus
    run_id: int | None
    created_at: Timestamp
    resolution: dict[str, JsonValue] | None
    """How it was closed (null while open): `{choice, value, at}` when resolved,
    `{by, at}` when dismissed (`by`: `api` or `dashboard`), `{by: "sync", reason, run_id,
    at}` when a run found its list or item gone."""

    @classmethod
    def of(cls, row: Any) -> ConflictOut:
        """From a `SyncConflict` row, whose `kind` and `local_id` are `entity`/`entity_id`."""
        return cls(
            id=row.id,
            entity=row.kind,
            entity_id=row.local_id,
            field=row.field,
            base=row.base,
            local=row.local,
            remote=row.remote,
            winner=row.winner,
            skew_s=row.skew_s,
            status=row.status,
            run_id=row.run_id,
            created_at=row.created_at,
            resolution=row.resolution,
        )


class ConflictPage(Page[ConflictOut]):
    """A page of conflicts, oldest first."""


class ResolveWithSide(_Request):
    """Keep the local or the remote value of the conflict."""

    choice: Literal["local", "remote"]


class ResolveWithValue(_Request):
    """Set the field to `value` (a string for name and description, a boolean for completed)."""

    choice: Literal["value"]
    value: JsonValue


ResolveRequest = Annotated[ResolveWithSide | ResolveWithValue, Field(discriminator="choice")]


class HistoryEntryOut(_Response):
    at: Timestamp
    run_id: int
    action: str
    side: str
    fields: list[str]


class HistoryPage(Page[HistoryEntryOut]):
    """A page of an entity's sync events, oldest first."""


class QuarantineOut(BaseModel):
    id: int
    entity: str
    external_id: str
    local_id: int | None
    reason: str
    attempts: int
    next_retry_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, row: Any) -> QuarantineOut:
        return cls(
            id=row.id,
            entity=row.kind,
            external_id=row.external_id,
            local_id=row.local_id,
            reason=row.reason,
            attempts=row.attempts,
            next_retry_at=row.next_retry_at,
            created_at=row.created_at,
        )


class QuarantinePage(Page[QuarantineOut]):
    """A page of quarantined entities, oldest first."""
