"""The tenants page, for an admin token only: every tenant's connection and how its sync
stands (health, last run, lag, open conflicts, quarantine), never a tenant's lists or items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from todosync.api import deps
from todosync.dashboard import access
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.store.repository import MAX_ID
from todosync.tenancy import overview

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/tenants")
async def tenants_page(
    request: Request,
    db: deps.Session,
    session: access.AdminViewer,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    page = await overview.page_connections(db, after_id=after, limit=PAGE_SIZE)
    context = {
        "connections": page.rows,
        "next_url": None if page.last_id is None else f"{PREFIX}/tenants?after={page.last_id}",
        "live_url": f"{PREFIX}/tenants?after={after}",
        "nav": "tenants",
    }
    return access.renderer(request).page(request, "tenants.html", session=session, context=context)
