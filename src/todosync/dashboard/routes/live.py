"""`GET /dashboard/events`: the signed-in tenant's live events for the page's script.

Browsers' `EventSource` cannot send a bearer token, so the dashboard streams the same bus as
`GET /api/events` (`todosync.events`) behind its session cookie. The page only needs to know
that something changed: it then reloads its live part, which reads the services afresh. An
app without a bus (or before it has one) answers 404, and the page polls instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException
from starlette.responses import Response

from todosync.dashboard import access
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.events import EventBus

__all__ = ["PING_S", "bus_of", "router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

PING_S = 15.0


def bus_of(request: Request) -> EventBus | None:
    bus: EventBus | None = getattr(request.app.state, "events", None)
    return bus


@router.get("/events")
async def stream(request: Request, viewer: access.CurrentViewer) -> Response:
    """The tenant's events (kind only; the page reads the details through its fragments)."""
    bus = bus_of(request)
    if bus is None:
        raise HTTPException(404, detail="This server has no live events; the page polls.")
    tenant_id = viewer.tenant_id

    async def events() -> AsyncIterator[ServerSentEvent]:
        with bus.subscribe(tenant_id) as subscription:
            # once subscribed, a page that refreshes on this misses nothing published later
            yield ServerSentEvent(data="connected", event="connected", retry=2_000)
            async for event in subscription:
                yield ServerSentEvent(data=event.kind, event="changed")

    return EventSourceResponse(events(), ping=PING_S, headers={"Cache-Control": "no-store"})
