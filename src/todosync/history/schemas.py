"""Shapes of the history API: the time parameters, and one version of an entity.

Times go in and out as the API's other timestamps: ISO 8601, UTC with microseconds and a `Z`
out; in, any ISO 8601 time with an offset (a time without one is taken as UTC). Anything else
(a bare number, a date alone) is a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from todosync.clock import ensure_utc, iso_utc

__all__ = ["ActorOut", "TimeParam", "VersionOut", "VersionPage"]


def _iso_time(value: object) -> datetime:
    if not isinstance(value, str) or "T" not in value:
        raise PydanticCustomError("time_invalid", "Must be an ISO 8601 date and time")
    try:
        return ensure_utc(datetime.fromisoformat(value))
    except ValueError:
        raise PydanticCustomError("time_invalid", "Must be an ISO 8601 date and time") from None


TimeParam = Annotated[
    datetime,
    BeforeValidator(_iso_time),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

Timestamp = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class ActorOut(BaseModel):
    kind: str = Field(description="`api`, `sync`, `conflict` or `retention`.")
    id: int | None = Field(description="The token's, run's or conflict's id.")


class VersionOut(BaseModel):
    """One version of a list or item: the event that made it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: str
    entity_id: int
    operation: str = Field(description="`created`, `updated`, `deleted`, `restored`, `baseline`.")
    before: dict[str, Any] | None = Field(description="The changed fields before it.")
    after: dict[str, Any] | None = Field(description="The changed fields after it.")
    actor: ActorOut
    valid_at: Timestamp = Field(description="When the change happened (valid time).")
    recorded_at: Timestamp = Field(description="When this service stored it (recorded time).")

    @classmethod
    def of_event(cls, event: Any) -> VersionOut:
        return cls(
            id=event.id,
            entity=event.kind,
            entity_id=event.entity_id,
            operation=event.operation,
            before=event.before,
            after=event.after,
            actor=ActorOut(kind=event.actor_kind, id=event.actor_id),
            valid_at=event.valid_at,
            recorded_at=event.recorded_at,
        )


class VersionPage(BaseModel):
    """A page of versions, oldest first; `next_cursor` is null on the last page."""

    data: list[VersionOut]
    next_cursor: str | None
