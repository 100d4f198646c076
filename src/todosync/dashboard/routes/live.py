"""`GET /dashboard/events`: the signed-in tenant's live events for the page's script.

Browsers' `EventSource` cannot send a bearer token, so the dashboard streams the same bus as
`GET /api/events` (`todosync.observe.events`) behind its session cookie. The page only needs to know
that something changed: it then reloads its live part, which reads the services afresh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX

__all__ = ["PING_S", "router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

PING_S = 15.0


@router.get("/events")
async def stream(viewer: access.CurrentViewer, services: deps.ServicesDep) -> Response:
    """The tenant's events (kind only; the page reads the details through its fragments)."""
    bus = services.events
    tenant_id = viewer.tenant_id

    async def events() -> AsyncIterator[ServerSentEvent]:
        with bus.subscribe(tenant_id) as subscription:
            # once subscribed, a page that refreshes on this misses nothing published later
            yield ServerSentEvent(data="connected", event="connected", retry=2_000)
            async for event in subscription:
                yield ServerSentEvent(data=event.kind, event="changed")

    return EventSourceResponse(events(), ping=PING_S, headers={"Cache-Control": "no-store"})
