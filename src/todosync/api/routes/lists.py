"""`/api/todolists`: the tenant's todo lists."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from todosync.api import deps, problems
from todosync.api.ids import ListId
from todosync.api.pagination import encode_cursor
from todosync.api.timetravel import AsOf, AsOfPaging
from todosync.history import fold
from todosync.history import service as history
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
async def list_lists(
    session: deps.Session, tenant_id: deps.TenantId, query: AsOfPaging
) -> ListPage:
    """The tenant's lists, oldest first, one page at a time; with `as_of` (and `known_at`),
    those that existed then, as they were."""
    paging = query.paging
    if query.at is not None:
        past = await history.list_lists(
            session, tenant_id=tenant_id, at=query.at, after_id=paging.after_id, limit=paging.limit
        )
        return ListPage(
            data=[list_out(state) for state in past.rows],
            next_cursor=None if past.last_id is None else encode_cursor(past.last_id),
        )
    page = await service.list_lists(
        session, tenant_id=tenant_id, after_id=paging.after_id, limit=paging.limit
    )
    return ListPage(
        data=[ListOut.model_validate(row) for row in page.rows],
        next_cursor=None if page.last_id is None else encode_cursor(page.last_id),
    )


def list_out(state: fold.State) -> ListOut:
    """A list as the history folded it."""
    return ListOut(
        id=state.entity_id,
        name=state.fields["name"],
        created_at=state.created_at,
        updated_at=state.updated_at,
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


@router.get("/{list_id}", responses=problems.responses(404, 422))
async def get_list(
    list_id: ListId, session: deps.Session, tenant_id: deps.TenantId, at: AsOf
) -> ListOut:
    """One list; with `as_of` (and `known_at`), as it was then (a list deleted since still
    answers for a time when it existed)."""
    if at is not None:
        return list_out(await history.get_list(session, list_id, tenant_id=tenant_id, at=at))
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
