"""Quarantine: the entities the sync gave up on, with their reasons and attempts; replay one
(or all) and the next run tries them afresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.store.repository import MAX_ID
from todosync.sync import service

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50
# "Replay all" releases at most this many at once; what is left shows on the page.
_REPLAY_ALL_MAX = 10_000
QuarantineId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/quarantine")
async def quarantine_page(
    request: Request,
    db: deps.Session,
    viewer: access.CurrentViewer,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    page = await service.list_quarantine(
        db, tenant_id=viewer.tenant_id, after_id=after, limit=PAGE_SIZE
    )
    context = {
        "entries": page.rows,
        "next_url": None if page.last_id is None else f"{PREFIX}/quarantine?after={page.last_id}",
        "live_url": f"{PREFIX}/quarantine?after={after}",
        "nav": "quarantine",
    }
    return access.renderer(request).page(
        request, "quarantine.html", session=viewer.session, context=context
    )


@router.post("/quarantine/{quarantine_id}/replay")
async def replay_one(
    request: Request, quarantine_id: QuarantineId, db: deps.Session, viewer: access.CheckedViewer
) -> Response:
    await service.replay_quarantined(db, quarantine_id, tenant_id=viewer.tenant_id)
    return access.renderer(request).redirect(
        request,
        f"{PREFIX}/quarantine",
        session=viewer.session,
        flash=f"Entry #{quarantine_id} released: the next run tries it again.",
    )


@router.post("/quarantine/replay-all")
async def replay_all(request: Request, db: deps.Session, viewer: access.CheckedViewer) -> Response:
    """Releases every quarantined entity, one service call each, in one transaction."""
    released = 0
    while released < _REPLAY_ALL_MAX:
        page = await service.list_quarantine(
            db, tenant_id=viewer.tenant_id, after_id=0, limit=PAGE_SIZE
        )
        for row in page.rows:
            await service.replay_quarantined(db, row.id, tenant_id=viewer.tenant_id)
        released += len(page.rows)
        if page.last_id is None:
            break
    return access.renderer(request).redirect(
        request,
        f"{PREFIX}/quarantine",
        session=viewer.session,
        flash=f"{released} entr{'y' if released == 1 else 'ies'} released: "
        "the next run tries them again.",
    )
