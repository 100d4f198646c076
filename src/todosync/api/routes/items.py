"""`/api/todolists/{list_id}/items`: the items of one of the tenant's lists."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from todosync.api import deps, problems
from todosync.api.ids import ItemId, ListId
from todosync.api.pagination import encode_cursor
from todosync.api.timetravel import AsOfPaging
from todosync.history import fold
from todosync.history import service as history
from todosync.store import service
from todosync.store.schemas import ItemCreate, ItemOut, ItemPage, ItemUpdate

__all__ = ["router"]


router = APIRouter(
    prefix="/api/todolists/{list_id}/items",
    tags=["items"],
    dependencies=[Depends(deps.authenticated)],
    responses=problems.responses(401, 403, 404, 429),
)

_LOCATION = {"Location": {"description": "The new item's path.", "schema": {"type": "string"}}}


@router.get("", responses=problems.responses(422))
async def list_items(
    list_id: ListId, session: deps.Session, tenant_id: deps.TenantId, query: AsOfPaging
) -> ItemPage:
    """The list's items, oldest first, one page at a time; with `as_of` (and `known_at`),
    those it had then, as they were."""
    paging = query.paging
    if query.at is not None:
        past = await history.list_items(
            session,
            list_id,
            tenant_id=tenant_id,
            at=query.at,
            after_id=paging.after_id,
            limit=paging.limit,
        )
        return ItemPage(
            data=[item_out(state) for state in past.rows],
            next_cursor=None if past.last_id is None else encode_cursor(past.last_id),
        )
    page = await service.list_items(
        session, tenant_id=tenant_id, list_id=list_id, after_id=paging.after_id, limit=paging.limit
    )
    next_cursor = None if page.last_id is None else encode_cursor(page.last_id)
    return ItemPage.of_rows(page.rows, next_cursor=next_cursor)


def item_out(state: fold.State) -> ItemOut:
    """An item as the history folded it."""
    assert state.list_id is not None
    return ItemOut(
        id=state.entity_id,
        list_id=state.list_id,
        description=state.fields["description"],
        completed=state.fields["completed"],
        created_at=state.created_at,
        updated_at=state.updated_at,
    )


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(deps.require_json)],
    responses={
        201: {"description": "The new item.", "headers": _LOCATION},
        **problems.responses(413, 415, 422),
    },
)
async def create_item(
    list_id: ListId,
    body: ItemCreate,
    session: deps.Session,
    tenant_id: deps.TenantId,
    request: Request,
    response: Response,
    actor: deps.ApiActor,
) -> ItemOut:
    """Creates an item in the list."""
    row = await service.create_item(
        session,
        tenant_id=tenant_id,
        list_id=list_id,
        description=body.description,
        completed=body.completed,
        actor=actor,
    )
    response.headers["Location"] = request.app.url_path_for(
        "get_item", list_id=str(list_id), item_id=str(row.id)
    )
    return ItemOut.model_validate(row)


@router.get("/{item_id}")
async def get_item(
    list_id: ListId, item_id: ItemId, session: deps.Session, tenant_id: deps.TenantId
) -> ItemOut:
    """One item."""
    row = await service.get_item(session, item_id, tenant_id=tenant_id, list_id=list_id)
    return ItemOut.model_validate(row)


@router.patch(
    "/{item_id}",
    dependencies=[Depends(deps.require_json)],
    responses=problems.responses(413, 415, 422),
)
async def update_item(
    list_id: ListId,
    item_id: ItemId,
    body: ItemUpdate,
    session: deps.Session,
    tenant_id: deps.TenantId,
    actor: deps.ApiActor,
) -> ItemOut:
    """Changes the fields given; an empty body changes nothing (and keeps the version)."""
    row = await service.update_item(
        session,
        item_id,
        tenant_id=tenant_id,
        list_id=list_id,
        description=body.description,
        completed=body.completed,
        actor=actor,
    )
    return ItemOut.model_validate(row)


@router.delete("/{item_id}", status_code=204)
async def delete_item(
    list_id: ListId,
    item_id: ItemId,
    session: deps.Session,
    tenant_id: deps.TenantId,
    actor: deps.ApiActor,
) -> Response:
    """Deletes the item."""
    await service.delete_item(session, item_id, tenant_id=tenant_id, list_id=list_id, actor=actor)
    return Response(status_code=204)
