"""The `Query` root: the tenant's lists and items, runs, status, conflicts and quarantine,
read through the same services as the REST routes (`api.routes.lists`, `api.routes.sync`)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from todosync.api import pagination
from todosync.graphql import paging
from todosync.graphql.context import Context
from todosync.graphql.history import AS_OF, KNOWN_AT, moment_of, state_connection
from todosync.graphql.lists import TodoList
from todosync.graphql.types import (
    Conflict,
    ConflictStatus,
    Connection,
    LogEntry,
    Quarantined,
    Run,
    SyncStatus,
)
from todosync.history import service as history_service
from todosync.store import service as store_service
from todosync.sync import service as sync_service
from todosync.sync.books.conflict_status import ConflictStatus as _ConflictStatus

__all__ = ["Query"]

Info = strawberry.Info[Context, None]
_FIRST = pagination.DEFAULT_LIMIT


@strawberry.type
class Query:
    @strawberry.field(
        description="The tenant's lists, oldest first; with `asOf` (and `knownAt`), those "
        "that existed then, as they were."
    )
    async def lists(
        self,
        info: Info,
        first: int = _FIRST,
        after: str | None = None,
        as_of: Annotated[str | None, strawberry.argument(description=AS_OF)] = None,
        known_at: Annotated[str | None, strawberry.argument(description=KNOWN_AT)] = None,
    ) -> Connection[TodoList]:
        after_id, limit = paging.start(first, after)
        at = moment_of(info.context, as_of, known_at)
        async with info.context.tenant_session() as (session, tenant_id):
            if at is not None:
                past = await history_service.list_lists(
                    session, tenant_id=tenant_id, at=at, after_id=after_id, limit=limit
                )
                return state_connection(past, lambda state: TodoList.of_state(state, at=at))
            page = await store_service.list_lists(
                session, tenant_id=tenant_id, after_id=after_id, limit=limit
            )
        return paging.connection(page, TodoList.of)

    @strawberry.field(
        name="list",
        description="One of the tenant's lists; with `asOf` (and `knownAt`), as it was then "
        "(a list deleted since still answers for a time when it existed).",
    )
    async def todo_list(
        self,
        info: Info,
        id: strawberry.ID,
        as_of: Annotated[str | None, strawberry.argument(description=AS_OF)] = None,
        known_at: Annotated[str | None, strawberry.argument(description=KNOWN_AT)] = None,
    ) -> TodoList:
        list_id = paging.parse_id(id, what="list")
        at = moment_of(info.context, as_of, known_at)
        async with info.context.tenant_session() as (session, tenant_id):
            if at is not None:
                state = await history_service.get_list(session, list_id, tenant_id=tenant_id, at=at)
                return TodoList.of_state(state, at=at)
            row = await store_service.get_list(session, list_id, tenant_id=tenant_id)
        return TodoList.of(row)

    @strawberry.field(description="The connection's runs, newest first.")
    async def runs(
        self, info: Info, first: int = _FIRST, after: str | None = None
    ) -> Connection[Run]:
        before_id, limit = paging.start(first, after)
        async with info.context.tenant_session() as (session, tenant_id):
            page = await sync_service.list_runs(
                session, tenant_id=tenant_id, before_id=before_id, limit=limit
            )
        return paging.connection(page, Run.of)

    @strawberry.field(description="One run with its per-entity log.")
    async def run(self, info: Info, id: strawberry.ID) -> Run:
        run_id = paging.parse_id(id, what="run")
        async with info.context.tenant_session() as (session, tenant_id):
            row = await sync_service.get_run(session, run_id, tenant_id=tenant_id)
            log = [LogEntry.of(entry) for entry in await sync_service.run_log(session, row)]
        return Run.of(row, log=log)

    @strawberry.field(description="How the sync stands: last run, next run, circuit, backlog.")
    async def sync_status(self, info: Info) -> SyncStatus:
        async with info.context.tenant_session() as (session, tenant_id):
            found = await sync_service.status(
                session, tenant_id=tenant_id, circuit_of=info.context.services.circuit_of
            )
        return SyncStatus(
            last_run=None if found.last_run is None else Run.of(found.last_run),
            last_success_at=found.last_success_at,
            next_run_at=found.next_run_at,
            circuit=found.circuit,
            pending_changes=found.pending_changes,
            open_conflicts=found.open_conflicts,
            quarantined=found.quarantined,
            lag_s=found.lag_s,
        )

    @strawberry.field(description="Conflicts of one status (open by default), oldest first.")
    async def conflicts(
        self,
        info: Info,
        status: ConflictStatus = _ConflictStatus.OPEN,  # type: ignore[valid-type]
        first: int = _FIRST,
        after: str | None = None,
    ) -> Connection[Conflict]:
        after_id, limit = paging.start(first, after)
        async with info.context.tenant_session() as (session, tenant_id):
            page = await sync_service.list_conflicts(
                session,
                tenant_id=tenant_id,
                status=_ConflictStatus(status),
                after_id=after_id,
                limit=limit,
            )
        return paging.connection(page, Conflict.of)

    @strawberry.field(description="Quarantined (dead-lettered) entities, oldest first.")
    async def quarantine(
        self, info: Info, first: int = _FIRST, after: str | None = None
    ) -> Connection[Quarantined]:
        after_id, limit = paging.start(first, after)
        async with info.context.tenant_session() as (session, tenant_id):
            page = await sync_service.list_quarantine(
                session, tenant_id=tenant_id, after_id=after_id, limit=limit
            )
        return paging.connection(page, Quarantined.of)
