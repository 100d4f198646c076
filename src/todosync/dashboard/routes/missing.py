"""Any other address under `/dashboard`: a page that says so (the app's own 404 would be a
JSON problem document, unreadable in a browser). Mounted last, after the static files."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


@router.get("/{rest:path}")
async def missing(rest: str) -> Response:
    if not rest:  # "/dashboard/": the overview, as the slash-less path
        return RedirectResponse(PREFIX, status_code=307)
    raise HTTPException(404, detail="There is nothing at this address.")
