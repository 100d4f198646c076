"""`/api/todolists/{list_id}/versions` and `.../items/{item_id}/versions`: every version of a
list or item (the events that made them), oldest first, each with its actor and both times."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from todosync.api import deps, problems
from todosync.api.ids import ItemId, ListId
from todosync.api.pagination import Paging, encode_cursor
from todosync.db.page import Page
from todosync.history import service as history
from todosync.history.models import EntityEvent
from todosync.history.schemas import VersionOut, VersionPage

__all__ = ["router"]

router = APIRouter(
    prefix="/api/todolists/{list_id}",
    tags=["history"],
    dependencies=[Depends(deps.authenticated)],
    responses=problems.responses(401, 404, 422, 429),
)


@router.get("/versions")
async def list_versions(
    list_id: ListId, session: deps.Session, tenant_id: deps.TenantId, paging: Paging
) -> VersionPage:
    """The list's versions, oldest first (a deleted list keeps them until retention)."""
    page = await history.list_versions(
        session, list_id, tenant_id=tenant_id, after_id=paging.after_id, limit=paging.limit
    )
    return _page(page)


@router.get("/items/{item_id}/versions")
async def item_versions(
    list_id: ListId,
    item_id: ItemId,
    session: deps.Session,
    tenant_id: deps.TenantId,
    paging: Paging,
) -> VersionPage:
    """The item's versions, oldest first."""
    page = await history.item_versions(
        session,
        item_id,
        tenant_id=tenant_id,
        list_id=list_id,
        after_id=paging.after_id,
        limit=paging.limit,
    )
    return _page(page)


def _page(page: Page[EntityEvent]) -> VersionPage:
    return VersionPage(
        data=[VersionOut.of_event(event) for event in page.rows],
        next_cursor=None if page.last_id is None else encode_cursor(page.last_id),
    )
