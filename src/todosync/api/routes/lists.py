"""`/api/todolists`: the tenant's todo lists."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from todosync.api import deps, problems
from todosync.api.ids import ListId
from todosync.api.pagination import Paging, encode_cursor
from todosync.store import service
from todosync.store.schemas import ListCreate, ListOut, ListPage, ListUpdate

__all__ = ["router"]


router = APIRouter(
    prefix="/api/todolists",
    tags=["lists"],
    # Authentication runs before any other dependency, so a missing token is a 401 first.
    dependencies=[Depends(deps.authenticated)],
    responses=problems.responses(401, 403, 429),
)

_LOCATION = {"Location": {"description": "The new list's path.", "schema": {"type": "string"}}}


@router.get("", responses=problems.responses(422))
async def list_lists(session: deps.Session, tenant_id: deps.TenantId, paging: Paging) -> ListPage:
    """The tenant's lists, oldest first, one page at a time."""
    page = await service.list_lists(
        session, tenant_id=tenant_id, after_id=paging.after_id, limit=paging.limit
    )
    return ListPage(
        data=[ListOut.model_validate(row) for row in page.rows],
        next_cursor=None if page.last_id is None else encode_cursor(page.last_id),
    )


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(deps.require_json)],
    responses={
        201: {"description": "The new list.", "headers": _LOCATION},
        **problems.responses(413, 415, 422),
    },
)
async def create_list(
    body: ListCreate,
    session: deps.Session,
    tenant_id: deps.TenantId,
    request: Request,
    response: Response,
    actor: deps.ApiActor,
) -> ListOut:
    """Creates a list."""
    row = await service.create_list(session, tenant_id=tenant_id, name=body.name, actor=actor)
    response.headers["Location"] = request.app.url_path_for("get_list", list_id=str(row.id))
    return ListOut.model_validate(row)


@router.get("/{list_id}", responses=problems.responses(404))
async def get_list(list_id: ListId, session: deps.Session, tenant_id: deps.TenantId) -> ListOut:
    """One list."""
    row = await service.get_list(session, list_id, tenant_id=tenant_id)
    return ListOut.model_validate(row)


@router.patch(
    "/{list_id}",
    dependencies=[Depends(deps.require_json)],
    responses=problems.responses(404, 413, 415, 422),
)
async def update_list(
    list_id: ListId,
    body: ListUpdate,
    session: deps.Session,
    tenant_id: deps.TenantId,
    actor: deps.ApiActor,
) -> ListOut:
    """Changes the fields given; an empty body changes nothing (and keeps the version)."""
    row = await service.update_list(
        session, list_id, tenant_id=tenant_id, name=body.name, actor=actor
    )
    return ListOut.model_validate(row)


@router.delete("/{list_id}", status_code=204, responses=problems.responses(404))
async def delete_list(
    list_id: ListId, session: deps.Session, tenant_id: deps.TenantId, actor: deps.ApiActor
) -> Response:
    """Deletes the list and all its items."""
    await service.delete_list(session, list_id, tenant_id=tenant_id, actor=actor)
    return Response(status_code=204)
