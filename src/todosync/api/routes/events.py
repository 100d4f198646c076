"""`GET /api/events`: the tenant's live events as Server-Sent Events.

Each event is `event: <kind>` with `data: {"kind", "tenant_id", "data": {...}}` (see
`todosync.observe.events`). Events are not replayed: a client that reconnects, or receives `resync`,
reads what it shows from the API again. A comment line every `PING_S` keeps proxies from
closing an idle stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from todosync.api import deps, problems

__all__ = ["PING_S", "router"]

PING_S = 15.0

router = APIRouter(prefix="/api", tags=["events"], responses=problems.responses(401, 403, 429))


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={200: {"description": "A stream of events.", "content": {"text/event-stream": {}}}},
)
async def stream_events(
    tenant_id: deps.TenantId, services: deps.ServicesDep
) -> EventSourceResponse:
    """Run started / progress / finished, entity changed, conflict opened / resolved, and
    `resync` when events may have been lost; only the caller's tenant's."""
    bus = services.events

    async def stream() -> AsyncIterator[ServerSentEvent]:
        with bus.subscribe(tenant_id) as subscription:
            # sent once subscribed: a client that has read it misses nothing published later
            yield ServerSentEvent(comment="connected", retry=2_000)
            async for event in subscription:
                yield ServerSentEvent(data=event.to_json(), event=event.kind)

    return EventSourceResponse(stream(), ping=PING_S)
