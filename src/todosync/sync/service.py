"""What the sync API does, over `sync.queries` and `store.service`: read runs, logs,
conflicts and quarantine of the tenant's connection, queue runs, resolve and dismiss
conflicts (the sync itself closes obsolete ones: `sync.books.runs.close_obsolete_conflicts`).

A tenant without a connection has nothing: empty pages, `NotFoundError` for any id, and a
`ConflictError` when it asks for a run. Functions flush but never commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import ensure_utc, iso_utc, utc_now
from todosync.db.page import Page
from todosync.errors import ConflictError, NotFoundError, ValidationFailed
from todosync.history.record import Actor
from todosync.store import schemas as store_schemas
from todosync.store import service as store_service
from todosync.store.models import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from todosync.sync.books import queries, runs
from todosync.sync.books.conflict_status import ConflictStatus
from todosync.sync.books.models import SyncConflict, SyncLog, SyncQuarantine, SyncRun
from todosync.sync.books.run_status import RunStatus

__all__ = [
    "Page",
    "Status",
    "connection_status",
    "dismiss_conflict",
    "get_run",
    "list_conflicts",
    "list_history",
    "list_quarantine",
    "list_runs",
    "queue_run",
    "replay_all_quarantined",
    "replay_quarantined",
    "resolve_conflict",
    "run_log",
    "status",
]


RowT = TypeVar("RowT", SyncRun, SyncConflict, SyncLog, SyncQuarantine)


async def _connection_page(
    session: AsyncSession,
    *,
    tenant_id: int,
    limit: int,
    fetch: Callable[[int, int], Awaitable[Sequence[RowT]]],
) -> Page[RowT]:
    """One page from `fetch(connection_id, rows)` over the tenant's connection (asked for one
    row more than the page, to tell whether another follows); empty without a connection."""
    connection_id = await queries.connection_of(session, tenant_id=tenant_id)
    if connection_id is None:
        return Page(rows=[], last_id=None)
    rows = await fetch(connection_id, limit + 1)
    if len(rows) > limit:
        return Page(rows=rows[:limit], last_id=rows[limit - 1].id)
    return Page(rows=rows, last_id=None)


# -- runs ----------------------------------------------------------------------------------------


async def list_runs(
    session: AsyncSession,
    *,
    tenant_id: int,
    before_id: int,
    limit: int,
    status: str | None = None,
    trigger: str | None = None,
    created_before: datetime | None = None,
) -> Page[SyncRun]:
    """One page of the connection's runs, newest first, below `before_id` (0: the newest);
    only those with the given `status` and `trigger`, queued before `created_before`, when
    asked (the dashboard's filters)."""
    return await _connection_page(
        session,
        tenant_id=tenant_id,
        limit=limit,
        fetch=lambda connection_id, rows: queries.page_runs(
            session,
            connection_id=connection_id,
            before_id=before_id,
            limit=rows,
            status=status,
            trigger=trigger,
            created_before=created_before,
        ),
    )


async def get_run(session: AsyncSession, run_id: int, *, tenant_id: int) -> SyncRun:
    connection_id = await _connection(session, tenant_id=tenant_id, missing=f"run {run_id}")
    run = await queries.get_run(session, connection_id=connection_id, run_id=run_id)
    if run is None:
        raise NotFoundError(f"run {run_id} not found")
    return run


async def run_log(session: AsyncSession, run: SyncRun) -> Sequence[SyncLog]:
    return await queries.run_log(session, run_id=run.id)


async def queue_run(
    session: AsyncSession,
    *,
    tenant_id: int,
    list_id: int | None,
    delay_s: float,
    dry_run: bool,
    allow_mass_delete: bool,
    restore_remote: bool = False,
    trigger: str | None = None,
) -> SyncRun:
    """A queued run that starts `delay_s` from now, or the queued run of the same kind that
    starts no later (a trigger that arrives while one waits joins it). `trigger` defaults to
    "delayed" or "manual"; the periodic scheduler passes "schedule"."""
    connection_id = await queries.connection_of(session, tenant_id=tenant_id)
    if connection_id is None:
        raise ConflictError("this tenant has no connection to an external API")
    if await queries.connection_disabled(session, connection_id=connection_id):
        raise ConflictError("this tenant's connection is disabled: it takes no runs")
    if list_id is not None:
        await store_service.get_list(session, list_id, tenant_id=tenant_id)
    run_after = utc_now() + timedelta(seconds=delay_s)
    waiting = await queries.find_queued(
        session,
        connection_id=connection_id,
        list_id=list_id,
        dry_run=dry_run,
        allow_mass_delete=allow_mass_delete,
        restore_remote=restore_remote,
        run_after=run_after,
    )
    if waiting is not None:
        return waiting
    return await runs.create_run(
        session,
        connection_id=connection_id,
        trigger=trigger or ("delayed" if delay_s > 0 else "manual"),
        status=queries.QUEUED,
        run_after=run_after,
        list_id=list_id,
        dry_run=dry_run,
        allow_mass_delete=allow_mass_delete,
        restore_remote=restore_remote,
    )


@dataclass(frozen=True, slots=True)
class Status:
    """How one tenant's sync stands: what `GET /api/sync/status` and the dashboard show."""

    last_run: SyncRun | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    circuit: str
    pending_changes: int
    open_conflicts: int
    quarantined: int
    lag_s: float | None

    @property
    def degraded(self) -> bool:
        """The circuit of this process is not closed, or the last run found the external API
        unavailable (a worker's breaker is invisible here, but its runs end `degraded`)."""
        last = None if self.last_run is None else self.last_run.status
        return self.circuit != "closed" or last == RunStatus.DEGRADED


async def status(
    session: AsyncSession,
    *,
    tenant_id: int,
    circuit_of: Callable[[int], str] = lambda _connection_id: "closed",
) -> Status:
    """The connection's sync status (all empty for a tenant without a connection);
    `circuit_of(connection id)` is the state of its breaker in the process that asks."""
    connection_id = await queries.connection_of(session, tenant_id=tenant_id)
    if connection_id is None:
        return Status(None, None, None, "closed", 0, 0, 0, None)
    return await connection_status(
        session, connection_id=connection_id, circuit=circuit_of(connection_id)
    )


async def connection_status(
    session: AsyncSession, *, connection_id: int, circuit: str = "closed"
) -> Status:
    """The sync status of one connection (`status`, for the tenant's own)."""
    found = await connection_statuses(session, connection_ids=[connection_id])
    return dataclasses.replace(found[connection_id], circuit=circuit)


async def connection_statuses(
    session: AsyncSession, *, connection_ids: Collection[int]
) -> dict[int, Status]:
    """The sync status of each of the connections, in the same few statements for one or
    many (the admin overview's page); their circuits are left "closed", since a breaker lives
    in the process that syncs."""
    scope = {"connection_ids": connection_ids}
    last_runs = await queries.last_finished_runs_by_connection(session, **scope)
    last_ok = await queries.last_success_by_connection(session, **scope)
    next_runs = await queries.next_run_by_connection(session, **scope)
    pending = await queries.pending_changes_by_connection(session, **scope)
    conflicts = await queries.open_conflicts_by_connection(session, **scope)
    quarantined = await queries.quarantined_by_connection(session, **scope)
    now = utc_now()
    found = {}
    for connection_id in connection_ids:
        ok_at = last_ok.get(connection_id)
        found[connection_id] = Status(
            last_run=last_runs.get(connection_id),
            last_success_at=ok_at,
            next_run_at=next_runs.get(connection_id),
            circuit="closed",
            pending_changes=pending.get(connection_id, 0),
            open_conflicts=conflicts.get(connection_id, 0),
            quarantined=quarantined.get(connection_id, 0),
            lag_s=None if ok_at is None else max(0.0, (now - ensure_utc(ok_at)).total_seconds()),
        )
    return found


# -- conflicts -----------------------------------------------------------------------------------


async def list_conflicts(
    session: AsyncSession, *, tenant_id: int, status: ConflictStatus, after_id: int, limit: int
) -> Page[SyncConflict]:
    return await _connection_page(
        session,
        tenant_id=tenant_id,
        limit=limit,
        fetch=lambda connection_id, rows: queries.page_conflicts(
            session, connection_id=connection_id, status=status, after_id=after_id, limit=rows
        ),
    )


async def resolve_conflict(
    session: AsyncSession, conflict_id: int, *, tenant_id: int, choice: str, value: Any = None
) -> SyncConflict:
    """Closes an open conflict with the chosen value, written as a new local version (which
    the next run pushes) unless the entity already holds it."""
    conflict = await _open_conflict(session, conflict_id, tenant_id=tenant_id)
    chosen = {"local": conflict.local, "remote": conflict.remote}.get(choice, value)
    _check_value(conflict.field, chosen)
    await _write_local(session, conflict, chosen, tenant_id=tenant_id)
    now = utc_now()
    conflict.status = ConflictStatus.RESOLVED
    conflict.resolved_at = now
    conflict.resolution = {"choice": choice, "value": chosen, "at": iso_utc(now)}
    await session.flush()
    return conflict


async def dismiss_conflict(
    session: AsyncSession, conflict_id: int, *, tenant_id: int, by: Literal["api", "dashboard"]
) -> SyncConflict:
    """Closes an open conflict as it stands (the automatic winner stays) without changing
    any data; `by` says from where (`api`, `dashboard`) in its resolution."""
    conflict = await _open_conflict(session, conflict_id, tenant_id=tenant_id)
    now = utc_now()
    conflict.status = ConflictStatus.DISMISSED
    conflict.resolved_at = now
    conflict.resolution = {"by": by, "at": iso_utc(now)}
    await session.flush()
    return conflict


async def _open_conflict(
    session: AsyncSession, conflict_id: int, *, tenant_id: int
) -> SyncConflict:
    """The tenant's conflict, locked for the change; `NotFoundError` for an unknown one (or
    another tenant's), `ConflictError` when it is no longer open."""
    missing = f"conflict {conflict_id}"
    connection_id = await _connection(session, tenant_id=tenant_id, missing=missing)
    conflict = await queries.get_conflict(
        session, connection_id=connection_id, conflict_id=conflict_id, for_update=True
    )
    if conflict is None:
        raise NotFoundError(f"{missing} not found")
    if conflict.status != ConflictStatus.OPEN:
        raise ConflictError(f"{missing} is already {conflict.status}")
    return conflict


def _check_value(field: str, value: Any) -> None:
    """The value must be storable in the conflict's field."""
    limits = {"name": MAX_NAME_LENGTH, "description": MAX_DESCRIPTION_LENGTH}
    if field in limits:
        if not isinstance(value, str):
            raise ValidationFailed(f"value: {field} must be a string")
        problem = store_schemas.text_problem(value, max_length=limits[field])
        if problem is not None:
            raise ValidationFailed(f"value: {problem}")
    elif field == "completed":
        if not isinstance(value, bool):
            raise ValidationFailed("value: completed must be true or false")
    else:
        raise ValidationFailed(f"value: field {field} cannot be set")


async def _write_local(
    session: AsyncSession, conflict: SyncConflict, value: Any, *, tenant_id: int
) -> None:
    """Writes the value through the store (a no-op write when it is already there), its
    event attributed to the conflict."""
    actor = Actor("conflict", conflict.id)
    gone = ConflictError(f"the {conflict.kind} was deleted; the conflict cannot be resolved")
    try:
        if conflict.kind == "list":
            await store_service.update_list(
                session,
                conflict.local_id,
                tenant_id=tenant_id,
                actor=actor,
                **{conflict.field: value},
            )
            return
        list_id = await queries.item_list_id(
            session, tenant_id=tenant_id, item_id=conflict.local_id
        )
        if list_id is None:
            raise gone
        await store_service.update_item(
            session,
            conflict.local_id,
            tenant_id=tenant_id,
            list_id=list_id,
            actor=actor,
            **{conflict.field: value},
        )
    except NotFoundError:
        raise gone from None


# -- history and quarantine ----------------------------------------------------------------------


async def list_history(
    session: AsyncSession, *, tenant_id: int, kind: str, local_id: int, after_id: int, limit: int
) -> Page[SyncLog]:
    """Every log entry of one local entity, oldest first; `NotFoundError` when the entity is
    unknown to the tenant (neither its row, deleted or not, nor in its connection's log), as
    for another tenant's entity: that is a 404, never an empty page."""
    page = await _connection_page(
        session,
        tenant_id=tenant_id,
        limit=limit,
        fetch=lambda connection_id, rows: queries.page_history(
            session,
            connection_id=connection_id,
            kind=kind,
            local_id=local_id,
            after_id=after_id,
            limit=rows,
        ),
    )
    if not page.rows and not await _knows(
        session, tenant_id=tenant_id, kind=kind, local_id=local_id
    ):
        raise NotFoundError(f"{kind} {local_id} not found")
    return page


async def _knows(session: AsyncSession, *, tenant_id: int, kind: str, local_id: int) -> bool:
    """Whether the entity is the tenant's row, or was one (purged, with history left)."""
    if await store_service.is_tenants(session, tenant_id=tenant_id, kind=kind, entity_id=local_id):
        return True
    connection_id = await queries.connection_of(session, tenant_id=tenant_id)
    return connection_id is not None and await queries.has_history(
        session, connection_id=connection_id, kind=kind, local_id=local_id
    )


async def list_quarantine(
    session: AsyncSession, *, tenant_id: int, after_id: int, limit: int
) -> Page[SyncQuarantine]:
    return await _connection_page(
        session,
        tenant_id=tenant_id,
        limit=limit,
        fetch=lambda connection_id, rows: queries.page_quarantine(
            session, connection_id=connection_id, after_id=after_id, limit=rows
        ),
    )


async def replay_quarantined(session: AsyncSession, quarantine_id: int, *, tenant_id: int) -> None:
    """Forgets a quarantined entity, so that the next run tries it afresh."""
    missing = f"quarantined entity {quarantine_id}"
    connection_id = await _connection(session, tenant_id=tenant_id, missing=missing)
    row = await queries.get_quarantine(
        session, connection_id=connection_id, quarantine_id=quarantine_id
    )
    if row is None:
        raise NotFoundError(f"{missing} not found")
    await session.delete(row)
    await session.flush()


async def replay_all_quarantined(session: AsyncSession, *, tenant_id: int) -> int:
    """Forgets every quarantined entity of the tenant's connection; returns how many."""
    connection_id = await queries.connection_of(session, tenant_id=tenant_id)
    if connection_id is None:
        return 0
    return await queries.delete_quarantine(session, connection_id=connection_id)


async def _connection(session: AsyncSession, *, tenant_id: int, missing: str) -> int:
    connection_id = await queries.connection_of(session, tenant_id=tenant_id)
    if connection_id is None:
        raise NotFoundError(f"{missing} not found")
    return connection_id
