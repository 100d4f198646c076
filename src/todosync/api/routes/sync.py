"""`/api/sync`: trigger runs, and read runs, status, conflicts, history and quarantine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, Request, Response
from pydantic import Field

from todosync.api import deps, ids, problems, triggers
from todosync.api.pagination import PageQuery, Paging, decode_cursor, encode_cursor
from todosync.errors import NotFoundError
from todosync.store.repository import MAX_ID
from todosync.sync import service
from todosync.sync.books.conflict_status import ConflictStatus
from todosync.sync.schemas import (
    ConflictOut,
    ConflictPage,
    HistoryEntryOut,
    HistoryPage,
    LogEntryOut,
    QuarantineOut,
    QuarantinePage,
    ResolveRequest,
    RunDetail,
    RunOut,
    RunPage,
    StatusOut,
    SyncQueued,
    SyncRequest,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/sync",
    tags=["sync"],
    dependencies=[Depends(deps.authenticated)],
    responses=problems.responses(401, 403, 429),
)

_ENTITY_PATTERN = rf"^(list|item):{ids.CANONICAL_ID}$"


class ConflictQuery(PageQuery):
    status: ConflictStatus = Field(
        default=ConflictStatus.OPEN,
        description="Open (the default), resolved, dismissed or obsolete conflicts.",
    )


class HistoryQuery(PageQuery):
    entity: str = Field(pattern=_ENTITY_PATTERN, description="`list:{id}` or `item:{id}`.")


def _after(query: PageQuery) -> int:
    return 0 if query.cursor is None else decode_cursor(query.cursor)


def _cursor(last_id: int | None) -> str | None:
    return None if last_id is None else encode_cursor(last_id)


@router.post(
    "",
    status_code=202,
    responses={
        202: {"description": "The run is queued."},
        **problems.responses(404, 409, 413, 415, 422),
    },
    dependencies=[Depends(deps.require_json_if_any)],
)
async def trigger_sync(
    session: deps.Session,
    tenant_id: deps.TenantId,
    request: Request,
    background: BackgroundTasks,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> SyncQueued:
    """Queues a run (or joins the queued run of the same kind that starts no later)."""
    body = body or SyncRequest()
    run = await service.queue_run(
        session,
        tenant_id=tenant_id,
        list_id=body.list_id,
        delay_s=body.delay_seconds,
        dry_run=body.dry_run,
        allow_mass_delete=body.allow_mass_delete,
        restore_remote=body.restore_remote,
    )
    await triggers.hand_over(run, session=session, request=request, background=background)
    return SyncQueued(run_id=run.id)


@router.get("/runs", responses=problems.responses(422))
async def list_runs(session: deps.Session, tenant_id: deps.TenantId, paging: Paging) -> RunPage:
    """The connection's runs, newest first, one page at a time."""
    page = await service.list_runs(
        session, tenant_id=tenant_id, before_id=paging.after_id, limit=paging.limit
    )
    return RunPage(
        data=[RunOut.model_validate(row) for row in page.rows], next_cursor=_cursor(page.last_id)
    )


@router.get("/runs/{run_id}", responses=problems.responses(404))
async def get_run(run_id: ids.RunId, session: deps.Session, tenant_id: deps.TenantId) -> RunDetail:
    """One run with its per-entity log."""
    run = await service.get_run(session, run_id, tenant_id=tenant_id)
    log = [LogEntryOut.model_validate(row) for row in await service.run_log(session, run)]
    summary = RunOut.model_validate(run).model_dump()
    return RunDetail(**summary, log=log, plan=run.plan)


@router.get("/status")
async def sync_status(
    session: deps.Session, tenant_id: deps.TenantId, circuit: deps.Circuit
) -> StatusOut:
    """How the sync stands: last run, next run, circuit, and what waits."""
    found = await service.status(session, tenant_id=tenant_id, circuit_of=circuit)
    return StatusOut(
        last_run=None if found.last_run is None else RunOut.model_validate(found.last_run),
        last_success_at=found.last_success_at,
        next_run_at=found.next_run_at,
        circuit=found.circuit,
        pending_changes=found.pending_changes,
        open_conflicts=found.open_conflicts,
        quarantined=found.quarantined,
        lag_s=found.lag_s,
    )


@router.get("/conflicts", responses=problems.responses(422))
async def list_conflicts(
    session: deps.Session,
    tenant_id: deps.TenantId,
    query: Annotated[ConflictQuery, Query()],
) -> ConflictPage:
    """Conflicts of one status, oldest first."""
    page = await service.list_conflicts(
        session,
        tenant_id=tenant_id,
        status=query.status,
        after_id=_after(query),
        limit=query.limit,
    )
    return ConflictPage(
        data=[ConflictOut.of(row) for row in page.rows], next_cursor=_cursor(page.last_id)
    )


@router.post(
    "/conflicts/{conflict_id}/resolve",
    dependencies=[Depends(deps.require_json)],
    responses=problems.responses(404, 409, 413, 415, 422),
)
async def resolve_conflict(
    conflict_id: ids.ConflictId,
    body: Annotated[ResolveRequest, Body()],
    session: deps.Session,
    tenant_id: deps.TenantId,
    services: deps.ServicesDep,
    background: BackgroundTasks,
) -> ConflictOut:
    """Closes a conflict; a chosen value that differs from the local one becomes a new local
    version, which the next run pushes."""
    row = await service.resolve_conflict(
        session,
        conflict_id,
        tenant_id=tenant_id,
        choice=body.choice,
        value=getattr(body, "value", None),
    )
    # after the response, hence after the commit: a client that reacts sees it resolved
    background.add_task(
        services.observer.conflict_resolved, tenant_id=tenant_id, conflict_id=row.id
    )
    return ConflictOut.of(row)


@router.post("/conflicts/{conflict_id}/dismiss", responses=problems.responses(404, 409))
async def dismiss_conflict(
    conflict_id: ids.ConflictId,
    session: deps.Session,
    tenant_id: deps.TenantId,
    services: deps.ServicesDep,
    background: BackgroundTasks,
) -> ConflictOut:
    """Closes an open conflict as it stands: the automatic winner stays, no data changes."""
    row = await service.dismiss_conflict(session, conflict_id, tenant_id=tenant_id, by="api")
    # after the response, hence after the commit, like a resolution
    background.add_task(
        services.observer.conflict_resolved, tenant_id=tenant_id, conflict_id=row.id
    )
    return ConflictOut.of(row)


@router.get("/history", responses=problems.responses(404, 422))
async def entity_history(
    session: deps.Session,
    tenant_id: deps.TenantId,
    query: Annotated[HistoryQuery, Query()],
) -> HistoryPage:
    """Every sync event that touched one local entity (local ids), oldest first; 404 for an
    entity the tenant never had."""
    kind, _, local_id = query.entity.partition(":")
    if int(local_id) > MAX_ID:  # names nothing, as such an id in a path does
        raise NotFoundError(f"{kind} {local_id} not found")
    page = await service.list_history(
        session,
        tenant_id=tenant_id,
        kind=kind,
        local_id=int(local_id),
        after_id=_after(query),
        limit=query.limit,
    )
    return HistoryPage(
        data=[HistoryEntryOut.model_validate(row) for row in page.rows],
        next_cursor=_cursor(page.last_id),
    )


@router.get("/quarantine", responses=problems.responses(422))
async def list_quarantine(
    session: deps.Session, tenant_id: deps.TenantId, paging: Paging
) -> QuarantinePage:
    """Quarantined (dead-lettered) entities, oldest first."""
    page = await service.list_quarantine(
        session, tenant_id=tenant_id, after_id=paging.after_id, limit=paging.limit
    )
    return QuarantinePage(
        data=[QuarantineOut.of(row) for row in page.rows], next_cursor=_cursor(page.last_id)
    )


@router.post(
    "/quarantine/{quarantine_id}/replay",
    status_code=202,
    response_class=Response,
    responses={202: {"description": "The next run retries it."}, **problems.responses(404)},
)
async def replay_quarantined(
    quarantine_id: ids.QuarantineId, session: deps.Session, tenant_id: deps.TenantId
) -> Response:
    """Releases a quarantined entity, so that the next run tries it again."""
    await service.replay_quarantined(session, quarantine_id, tenant_id=tenant_id)
    return Response(status_code=202)
