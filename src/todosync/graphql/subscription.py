"""The `Subscription` root: the tenant's live events, from the same bus as `/api/events`
(`observe.events`: in-process on SQLite, LISTEN/NOTIFY on PostgreSQL, so a worker's run
reaches a subscriber on any `serve` replica). Each subscription first sends `subscribed`
(from then on it misses nothing), then its kinds as they happen, and `resync` when events
may have been lost (read the API afresh then)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.scalars import JSON

from todosync.graphql.context import Context
from todosync.observe import events

__all__ = ["LiveEvent", "Subscription"]

Info = strawberry.Info[Context, None]
_ALWAYS = frozenset({"subscribed", "resync"})


@strawberry.type
class LiveEvent:
    """`kind` (e.g. `run.started`) and its small JSON `data` (ids, counts, status; no texts)."""

    kind: str
    data: JSON

    @classmethod
    def of(cls, event: events.Event) -> LiveEvent:
        return cls(kind=event.kind, data=JSON(event.data))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="run.started, run.progress, run.finished (of one run, given `runId`)."
    )
    async def run_events(
        self, info: Info, run_id: strawberry.ID | None = None
    ) -> AsyncGenerator[LiveEvent, None]:
        async for event in _events(info, prefix="run."):
            if run_id is None or event.kind in _ALWAYS or _is_run(event, run_id):
                yield LiveEvent.of(event)

    @strawberry.subscription(description="entity.changed: lists and items a run changed.")
    async def entity_changes(self, info: Info) -> AsyncGenerator[LiveEvent, None]:
        async for event in _events(info, prefix="entity."):
            yield LiveEvent.of(event)

    @strawberry.subscription(description="conflict.opened and conflict.resolved.")
    async def conflicts(self, info: Info) -> AsyncGenerator[LiveEvent, None]:
        async for event in _events(info, prefix="conflict."):
            yield LiveEvent.of(event)


async def _events(info: Info, *, prefix: str) -> AsyncGenerator[events.Event, None]:
    tenant_id = await info.context.tenant_id()
    with info.context.services.events.subscribe(tenant_id) as subscription:
        yield events.Event("subscribed", tenant_id)
        async for event in subscription:
            if event.kind.startswith(prefix) or event.kind in _ALWAYS:
                yield event


def _is_run(event: events.Event, run_id: strawberry.ID) -> bool:
    return str(event.data.get("run_id")) == str(run_id)
