"""Versions: every version of one list or item (its history events), linked from a run's log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.history import service as history
from todosync.store.repository import MAX_ID

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 100


@router.get("/versions")
async def versions_page(
    request: Request,
    db: deps.Session,
    viewer: access.CurrentViewer,
    entity: Annotated[str, Query(pattern=r"^(list|item):[1-9][0-9]{0,18}$")],
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """Oldest first, with each version's actor and both times."""
    kind, _, entity_id = entity.partition(":")
    page = await history.entity_versions(
        db,
        kind,
        min(int(entity_id), MAX_ID),
        tenant_id=viewer.tenant_id,
        after_id=after,
        limit=PAGE_SIZE,
    )
    next_url = None
    if page.last_id is not None:
        next_url = f"{PREFIX}/versions?{urlencode({'entity': entity, 'after': page.last_id})}"
    context = {
        "kind": kind,
        "entity_id": entity_id,
        "versions": page.rows,
        "next_url": next_url,
        "live_url": f"{PREFIX}/versions?{urlencode({'entity': entity, 'after': after})}",
        "nav": "runs",
    }
    return access.renderer(request).page(
        request, "versions.html", session=viewer.session, context=context
    )
