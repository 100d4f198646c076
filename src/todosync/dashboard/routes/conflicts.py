"""The conflict inbox: open conflicts with base, local and remote values and the automatic
winner, resolved or dismissed per field; closed ones (resolved, dismissed, obsolete) with
their resolution (the audit trail)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access, forms
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.store.repository import MAX_ID
from todosync.sync import service
from todosync.sync.books.conflict_status import ConflictStatus

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 20
ConflictId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/conflicts")
async def conflicts_page(
    request: Request,
    db: deps.Session,
    viewer: access.CurrentViewer,
    status: ConflictStatus = ConflictStatus.OPEN,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """Oldest first, like `GET /api/sync/conflicts`."""
    page = await service.list_conflicts(
        db, tenant_id=viewer.tenant_id, status=status, after_id=after, limit=PAGE_SIZE
    )
    next_url = None
    if page.last_id is not None:
        next_url = f"{PREFIX}/conflicts?{urlencode({'status': status, 'after': page.last_id})}"
    context = {
        "conflicts": page.rows,
        "status": status,
        "next_url": next_url,
        "live_url": f"{PREFIX}/conflicts?{urlencode({'status': status, 'after': after})}",
        "nav": "conflicts",
    }
    return access.renderer(request).page(
        request, "conflicts.html", session=viewer.session, context=context
    )


@router.post("/conflicts/{conflict_id}/resolve")
async def resolve(
    request: Request, conflict_id: ConflictId, db: deps.Session, viewer: access.CheckedViewer
) -> Response:
    """Resolves one field; a value that differs from the local one is pushed by the next run."""
    choice = forms.parse(forms.Resolve, await request.form())
    conflict = await service.resolve_conflict(
        db,
        conflict_id,
        tenant_id=viewer.tenant_id,
        choice=choice.choice,
        value=choice.chosen_value(),
    )
    kept = "your value" if choice.choice == "value" else f"the {choice.choice} value"
    message = (
        f"Conflict #{conflict.id} resolved: {conflict.kind} #{conflict.local_id} keeps {kept} "
        f"for {conflict.field}; the next run pushes it if it changed."
    )
    return access.renderer(request).redirect(
        request, f"{PREFIX}/conflicts", session=viewer.session, flash=message
    )


@router.post("/conflicts/{conflict_id}/dismiss")
async def dismiss(
    request: Request, conflict_id: ConflictId, db: deps.Session, viewer: access.CheckedViewer
) -> Response:
    """Closes a conflict as it stands; no data changes."""
    conflict = await service.dismiss_conflict(
        db, conflict_id, tenant_id=viewer.tenant_id, by="dashboard"
    )
    message = (
        f"Conflict #{conflict.id} dismissed: {conflict.kind} #{conflict.local_id} keeps its "
        f"{conflict.field} as it is; nothing changes."
    )
    return access.renderer(request).redirect(
        request, f"{PREFIX}/conflicts", session=viewer.session, flash=message
    )
