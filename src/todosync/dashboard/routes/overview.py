"""The overview: how the sync stands, and a chart of the recent runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access, chart
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.sync import service

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

RECENT_RUNS = 30
_SHOWN_RUNS = 8


@router.get("")
async def overview(
    request: Request, db: deps.Session, viewer: access.CurrentViewer, circuit: deps.Circuit
) -> Response:
    status = await service.status(db, tenant_id=viewer.tenant_id, circuit_of=circuit)
    recent = await service.list_runs(db, tenant_id=viewer.tenant_id, before_id=0, limit=RECENT_RUNS)
    context = {
        "health": status,
        "chart": chart.build(recent.rows),
        "runs": recent.rows[:_SHOWN_RUNS],
        "live_url": PREFIX,
        "nav": "overview",
    }
    return access.renderer(request).page(
        request, "overview.html", session=viewer.session, context=context
    )
