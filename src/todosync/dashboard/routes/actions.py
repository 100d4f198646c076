"""Actions: sync now, later, one list, dry run, and a held run again, with mass deletes
allowed or with the remote side restored from this one. Each goes through a confirmation
page that says what it will do, then queues the run through the same service as
`POST /api/sync`."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from todosync.api import deps, triggers
from todosync.dashboard import access, forms
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.store import service as store_service
from todosync.store.models import TodoList
from todosync.sync import service
from todosync.sync.books.run_status import RunStatus

__all__ = ["describe", "router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

# The list picker shows this many lists; more are reached by their id.
_LISTS_SHOWN = 200
_HELD_SHOWN = 5


@router.get("/actions")
async def actions_page(
    request: Request, db: deps.Session, viewer: access.CurrentViewer
) -> Response:
    lists = await store_service.list_lists(db, tenant_id=viewer.tenant_id, limit=_LISTS_SHOWN)
    held = await service.list_runs(
        db, tenant_id=viewer.tenant_id, before_id=0, limit=_HELD_SHOWN, status=RunStatus.HELD
    )
    context = {
        "lists": lists.rows,
        "more_lists": lists.last_id is not None,
        "held": held.rows,
        "max_delay_minutes": forms.MAX_DELAY_MINUTES,
        "nav": "actions",
    }
    return access.renderer(request).page(
        request, "actions.html", session=viewer.session, context=context
    )


@router.get("/actions/confirm")
async def confirm_page(
    request: Request, db: deps.Session, viewer: access.CurrentViewer
) -> Response:
    """What the chosen action will do, with the button that does it."""
    action = forms.parse(forms.SyncAction, request.query_params)
    todo = await _list_of(db, action, tenant_id=viewer.tenant_id)
    context = {
        "action": action,
        "description": describe(action, todo=todo),
        "fields": action.as_query(),
        "nav": "actions",
    }
    return access.renderer(request).page(
        request, "confirm.html", session=viewer.session, context=context
    )


@router.post("/actions/sync")
async def queue_sync(
    request: Request, db: deps.Session, viewer: access.CheckedViewer, background: BackgroundTasks
) -> Response:
    action = forms.parse(forms.SyncAction, await request.form())
    run = await service.queue_run(
        db,
        tenant_id=viewer.tenant_id,
        list_id=action.list_id,
        delay_s=action.delay_minutes * 60,
        dry_run=action.dry_run,
        allow_mass_delete=action.allow_mass_delete,
        restore_remote=action.restore_remote,
    )
    await triggers.hand_over(run, session=db, request=request, background=background)
    return access.renderer(request).redirect(
        request,
        f"{PREFIX}/runs/{run.id}",
        session=viewer.session,
        # said once, when the page may already show the run finished: no claim on its state
        flash=f"Sync requested: run #{run.id}.",
    )


async def _list_of(
    db: AsyncSession, action: forms.SyncAction, *, tenant_id: int
) -> TodoList | None:
    if action.list_id is None:
        return None
    return await store_service.get_list(db, action.list_id, tenant_id=tenant_id)


def describe(action: forms.SyncAction, *, todo: TodoList | None) -> str:
    """One sentence on what the action will do."""
    what = "a dry run" if action.dry_run else "a sync"
    scope = "of every list" if todo is None else f"of the list “{todo.name}” (#{todo.id})"
    minutes = action.delay_minutes
    when = "now" if minutes == 0 else f"in {minutes} minute{'s' if minutes != 1 else ''}"
    sentence = f"Queue {what} {scope}, to start {when}."
    if action.dry_run:
        sentence += " It reads the external API once and shows the plan; it changes nothing."
    else:
        sentence += " It pulls the external lists, then pushes the local changes."
    if action.allow_mass_delete:
        sentence += " It may delete many entities: the mass-delete guard is off for this run."
    if action.restore_remote:
        sentence += (
            " It takes this side as the truth for what is missing from the external API:"
            " every such list and item is created there again, nothing is deleted here."
        )
    return sentence
