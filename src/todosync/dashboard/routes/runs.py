"""Runs: the filterable list, one run with its log, and one entity's sync history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access, chart
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.errors import ValidationFailed
from todosync.store.repository import MAX_ID
from todosync.sync import service
from todosync.sync.books.run_status import RunStatus

__all__ = ["RUN_STATUSES", "TRIGGERS", "router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

RUN_STATUSES = tuple(RunStatus)
TRIGGERS = ("manual", "delayed", "schedule", "cli")
PAGE_SIZE = 25
# A run over many thousand entities has as many log entries; the page shows the first ones.
MAX_LOG_SHOWN = 1_000

StatusFilter = Literal["", "queued", "running", "ok", "partial", "held", "degraded", "failed"]
TriggerFilter = Literal["", "manual", "delayed", "schedule", "cli"]
Before = Annotated[int, Query(ge=0, le=MAX_ID)]
UntilFilter = Annotated[str, Query(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/runs")
async def runs_page(
    request: Request,
    db: deps.Session,
    viewer: access.CurrentViewer,
    status: StatusFilter = "",
    trigger: TriggerFilter = "",
    until: UntilFilter = "",
    before: Before = 0,
) -> Response:
    """Newest first, `PAGE_SIZE` a page; `before` is the last id of the previous page, and
    `until` a day (UTC) whose end the list starts from."""
    page = await service.list_runs(
        db,
        tenant_id=viewer.tenant_id,
        before_id=before,
        limit=PAGE_SIZE,
        status=status or None,
        trigger=trigger or None,
        created_before=_end_of(until),
    )
    filters = {"status": status, "trigger": trigger, "until": until}
    query = urlencode({k: v for k, v in filters.items() if v})
    next_query = None
    if page.last_id is not None:
        next_query = urlencode({**{k: v for k, v in filters.items() if v}, "before": page.last_id})
    context = {
        "runs": page.rows,
        "filters": filters,
        "statuses": RUN_STATUSES,
        "triggers": TRIGGERS,
        "first_page": before == 0,
        "first_url": f"{PREFIX}/runs" + (f"?{query}" if query else ""),
        "next_url": None if next_query is None else f"{PREFIX}/runs?{next_query}",
        "live_url": _here(request),
        "nav": "runs",
    }
    return access.renderer(request).page(
        request, "runs.html", session=viewer.session, context=context
    )


@router.get("/runs/{run_id}")
async def run_page(
    request: Request, run_id: RunId, db: deps.Session, viewer: access.CurrentViewer
) -> Response:
    run = await service.get_run(db, run_id, tenant_id=viewer.tenant_id)
    log = await service.run_log(db, run)
    context = {
        "run": run,
        "log": log[:MAX_LOG_SHOWN],
        "log_total": len(log),
        "changes": chart.changes_of(run.counts),
        "live_url": f"{PREFIX}/runs/{run.id}",
        "nav": "runs",
    }
    return access.renderer(request).page(
        request, "run.html", session=viewer.session, context=context
    )


@router.get("/history")
async def history_page(
    request: Request,
    db: deps.Session,
    viewer: access.CurrentViewer,
    entity: Annotated[str, Query(pattern=r"^(list|item):[1-9][0-9]{0,18}$")],
    after: Before = 0,
) -> Response:
    """Every sync event of one local list or item, oldest first."""
    kind, _, local_id = entity.partition(":")
    page = await service.list_history(
        db,
        tenant_id=viewer.tenant_id,
        kind=kind,
        local_id=min(int(local_id), MAX_ID),
        after_id=after,
        limit=PAGE_SIZE * 4,
    )
    next_url = None
    if page.last_id is not None:
        next_url = f"{PREFIX}/history?{urlencode({'entity': entity, 'after': page.last_id})}"
    context = {
        "entity": entity,
        "kind": kind,
        "local_id": local_id,
        "entries": page.rows,
        "next_url": next_url,
        "live_url": f"{PREFIX}/history?{urlencode({'entity': entity, 'after': after})}",
        "nav": "conflicts",
    }
    return access.renderer(request).page(
        request, "history.html", session=viewer.session, context=context
    )


def _here(request: Request) -> str:
    """This page's path and query, for the live part to refresh itself."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _end_of(day: str) -> datetime | None:
    """The end of a day (`YYYY-MM-DD`, UTC), or None for no day."""
    if not day:
        return None
    try:
        start = datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
        return start + timedelta(days=1)
    except (ValueError, OverflowError):
        raise ValidationFailed("until: not a date (or past year 9999)") from None
