"""The overview: how the sync stands, and a chart of the recent runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.clock import ensure_utc, utc_now
from todosync.dashboard import access, chart
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.sync import service
from todosync.sync.models import SyncRun
from todosync.sync.run_status import RunStatus

__all__ = ["Health", "router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

RECENT_RUNS = 30
_SHOWN_RUNS = 8


@dataclass(frozen=True, slots=True)
class Health:
    """The status panel: `GET /api/sync/status` plus whether the connection is degraded."""

    circuit: str
    degraded: bool
    last_run: SyncRun | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    lag_s: float | None
    pending_changes: int
    open_conflicts: int
    quarantined: int


async def health(request: Request, db: deps.Session, *, tenant_id: int) -> Health:
    """The same figures as the API's status, from the same service."""
    found = await service.status(db, tenant_id=tenant_id)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    circuit = "closed" if dispatcher is None else str(dispatcher.circuit_state)
    last_ok = found.last_success_at
    last_status = None if found.last_run is None else found.last_run.status
    return Health(
        circuit=circuit,
        # the breaker of this process, or the last run's verdict (a worker's breaker is
        # invisible here, but its runs end as "degraded")
        degraded=circuit != "closed" or last_status == RunStatus.DEGRADED,
        last_run=found.last_run,
        last_success_at=last_ok,
        next_run_at=found.next_run_at,
        lag_s=None
        if last_ok is None
        else max(0.0, (utc_now() - ensure_utc(last_ok)).total_seconds()),
        pending_changes=found.pending_changes,
        open_conflicts=found.open_conflicts,
        quarantined=found.quarantined,
    )


@router.get("")
async def overview(request: Request, db: deps.Session, viewer: access.CurrentViewer) -> Response:
    status = await health(request, db, tenant_id=viewer.tenant_id)
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
