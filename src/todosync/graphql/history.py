"""The history in GraphQL: `asOf`/`knownAt` on `lists` and `list` (the state then, as known
then), and `versions` of a list or item, through the same `history.service` as REST."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic
import strawberry
from strawberry.scalars import JSON

from todosync.api import pagination
from todosync.db.page import Page
from todosync.errors import ValidationFailed
from todosync.graphql import paging
from todosync.graphql.context import Context
from todosync.graphql.types import Connection, Edge, PageInfo
from todosync.history import service as history
from todosync.history.fold import State
from todosync.history.schemas import TimeParam

__all__ = ["Moment", "Version", "moment_of", "state_connection", "versions_of"]

Moment = history.Moment
_TIME: pydantic.TypeAdapter[datetime] = pydantic.TypeAdapter(TimeParam)

AS_OF = "Valid time: the state as it was at this time (ISO 8601)."
KNOWN_AT = "Recorded time: as this service knew it at this time (ISO 8601; default now)."


@strawberry.type(description="One version of a list or item: the event that made it.")
class Version:
    id: strawberry.ID
    operation: str = strawberry.field(
        description="`created`, `updated`, `deleted`, `restored` or `baseline`."
    )
    before: JSON | None = strawberry.field(description="The changed fields before it.")
    after: JSON | None = strawberry.field(description="The changed fields after it.")
    actor_kind: str = strawberry.field(description="`api`, `sync`, `conflict` or `retention`.")
    actor_id: int | None = strawberry.field(description="The token's, run's or conflict's id.")
    valid_at: datetime = strawberry.field(description="When the change happened.")
    recorded_at: datetime = strawberry.field(description="When this service stored it.")

    @classmethod
    def of(cls, event: Any) -> Version:
        return cls(
            id=strawberry.ID(str(event.id)),
            operation=event.operation,
            before=event.before,
            after=event.after,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            valid_at=event.valid_at,
            recorded_at=event.recorded_at,
        )


def moment_of(context: Context, as_of: str | None, known_at: str | None) -> Moment | None:
    """The moment asked for, checked as REST checks `as_of`/`known_at` (`ValidationFailed`
    for a malformed or future time, or one before the history window); None for now."""
    parsed = {name: _time(name, value) for name, value in (("asOf", as_of), ("knownAt", known_at))}
    at = parsed["asOf"] or parsed["knownAt"]
    if at is None:
        return None
    return history.moment(
        as_of=at,
        known_at=parsed["knownAt"],
        retention_days=context.services.settings.history_retention_days,
    )


def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return _TIME.validate_python(value)
    except pydantic.ValidationError:
        raise ValidationFailed(f"{name}: must be an ISO 8601 date and time") from None


def state_connection(page: Page[State], node: Any) -> Connection[Any]:
    """A page of folded states as a connection (their cursor is the entity's id)."""
    edges = [
        Edge(cursor=pagination.encode_cursor(state.entity_id), node=node(state))
        for state in page.rows
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.last_id is not None, end_cursor=edges[-1].cursor if edges else None
        ),
    )


async def versions_of(
    context: Context, entity_id: int, *, list_id: int | None = None, first: int, after: str | None
) -> Connection[Version]:
    """One page of a list's versions, or of an item's (`list_id`: its list), oldest first."""
    after_id, limit = paging.start(first, after)
    async with context.tenant_session() as (session, tenant_id):
        if list_id is None:
            page = await history.list_versions(
                session, entity_id, tenant_id=tenant_id, after_id=after_id, limit=limit
            )
        else:
            page = await history.item_versions(
                session,
                entity_id,
                tenant_id=tenant_id,
                list_id=list_id,
                after_id=after_id,
                limit=limit,
            )
    return paging.connection(page, Version.of)
