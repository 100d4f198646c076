"""`/api/admin`: read-only views across every tenant, for an admin token only.

A tenant's token gets 403 here; an admin token gets 403 on every tenant-scoped route
(`deps.authenticated`). Nothing here shows a tenant's lists, items or external API token.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from todosync.api import deps, problems
from todosync.api.pagination import Paging, encode_cursor
from todosync.tenancy import overview
from todosync.tenancy.schemas import AdminConnectionOut, AdminConnectionPage

__all__ = ["router"]

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(deps.administrator)],
    responses=problems.responses(401, 403, 429),
)


@router.get("/connections", responses=problems.responses(422))
async def list_connections(session: deps.Session, paging: Paging) -> AdminConnectionPage:
    """Every tenant's connections, by id: tenant, last run, lag, open conflicts, quarantine
    and next run of each."""
    page = await overview.page_connections(session, after_id=paging.after_id, limit=paging.limit)
    return AdminConnectionPage(
        data=[AdminConnectionOut.of(found) for found in page.rows],
        next_cursor=None if page.last_id is None else encode_cursor(page.last_id),
    )
