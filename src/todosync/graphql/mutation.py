"""The `Mutation` root: list and item writes, sync triggers, conflict resolution and replay,
through the same services as REST. Input that REST checks with a request model
(`sync.schemas.SyncRequest`, `ResolveRequest`) is checked with the same model here."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
import strawberry
from starlette.requests import Request
from strawberry.scalars import JSON

from todosync.api import triggers
from todosync.errors import ValidationFailed
from todosync.graphql import paging
from todosync.graphql.context import Context
from todosync.graphql.lists import TodoItem, TodoList
from todosync.graphql.types import Conflict, ResolveChoice, SyncQueued
from todosync.store import service as store_service
from todosync.sync import schemas as sync_schemas
from todosync.sync import service as sync_service

__all__ = ["Mutation"]

Info = strawberry.Info[Context, None]
ModelT = TypeVar("ModelT")


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Creates a list.")
    async def create_list(self, info: Info, name: str) -> TodoList:
        async with info.context.tenant_session() as (session, tenant_id):
            row = await store_service.create_list(
                session, tenant_id=tenant_id, name=name, actor=await info.context.actor()
            )
        return TodoList.of(row)

    @strawberry.mutation(description="Changes the fields given (null: unchanged).")
    async def update_list(
        self,
        info: Info,
        id: strawberry.ID,
        name: str | None = None,
    ) -> TodoList:
        list_id = paging.parse_id(id, what="list")
        async with info.context.tenant_session() as (session, tenant_id):
            row = await store_service.update_list(
                session, list_id, tenant_id=tenant_id, name=name, actor=await info.context.actor()
            )
        return TodoList.of(row)

    @strawberry.mutation(description="Deletes the list and all its items; returns its id.")
    async def delete_list(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        list_id = paging.parse_id(id, what="list")
        async with info.context.tenant_session() as (session, tenant_id):
            await store_service.delete_list(
                session, list_id, tenant_id=tenant_id, actor=await info.context.actor()
            )
        return id

    @strawberry.mutation(description="Creates an item in the list.")
    async def create_item(
        self, info: Info, list_id: strawberry.ID, description: str, completed: bool = False
    ) -> TodoItem:
        parent = paging.parse_id(list_id, what="list")
        async with info.context.tenant_session() as (session, tenant_id):
            row = await store_service.create_item(
                session,
                tenant_id=tenant_id,
                list_id=parent,
                description=description,
                completed=completed,
                actor=await info.context.actor(),
            )
        return TodoItem.of(row)

    @strawberry.mutation(description="Changes the fields given (null: unchanged).")
    async def update_item(
        self,
        info: Info,
        list_id: strawberry.ID,
        id: strawberry.ID,
        description: str | None = None,
        completed: bool | None = None,
    ) -> TodoItem:
        parent = paging.parse_id(list_id, what="list")
        item_id = paging.parse_id(id, what="item")
        async with info.context.tenant_session() as (session, tenant_id):
            row = await store_service.update_item(
                session,
                item_id,
                tenant_id=tenant_id,
                list_id=parent,
                description=description,
                completed=completed,
                actor=await info.context.actor(),
            )
        return TodoItem.of(row)

    @strawberry.mutation(description="Deletes the item; returns its id.")
    async def delete_item(
        self,
        info: Info,
        list_id: strawberry.ID,
        id: strawberry.ID,
    ) -> strawberry.ID:
        parent = paging.parse_id(list_id, what="list")
        item_id = paging.parse_id(id, what="item")
        async with info.context.tenant_session() as (session, tenant_id):
            await store_service.delete_item(
                session,
                item_id,
                tenant_id=tenant_id,
                list_id=parent,
                actor=await info.context.actor(),
            )
        return id

    @strawberry.mutation(description="Queues a sync run, like `POST /api/sync`.")
    async def trigger_sync(
        self,
        info: Info,
        list_id: strawberry.ID | None = None,
        delay_seconds: float = 0,
        dry_run: bool = False,
        allow_mass_delete: bool = False,
    ) -> SyncQueued:
        fields: dict[str, Any] = {
            "delay_seconds": delay_seconds,
            "dry_run": dry_run,
            "allow_mass_delete": allow_mass_delete,
        }
        if list_id is not None:
            fields["list_id"] = paging.parse_id(list_id, what="list")
        body = _checked(sync_schemas.SyncRequest, fields)
        context = info.context
        async with context.tenant_session() as (session, tenant_id):
            run = await sync_service.queue_run(
                session,
                tenant_id=tenant_id,
                list_id=body.list_id,
                delay_s=body.delay_seconds,
                dry_run=body.dry_run,
                allow_mass_delete=body.allow_mass_delete,
            )
            assert isinstance(context.request, Request)
            assert context.background_tasks is not None  # strawberry sets both over HTTP
            await triggers.hand_over(
                run, session=session, request=context.request, background=context.background_tasks
            )
        return SyncQueued(run_id=strawberry.ID(str(run.id)))

    @strawberry.mutation(description="Closes an open conflict with the chosen value.")
    async def resolve_conflict(
        self,
        info: Info,
        id: strawberry.ID,
        choice: ResolveChoice,
        value: JSON | None = strawberry.UNSET,
    ) -> Conflict:
        conflict_id = paging.parse_id(id, what="conflict")
        fields: dict[str, Any] = {"choice": choice.value}
        if value is not strawberry.UNSET:
            fields["value"] = value
        body = _checked(pydantic.TypeAdapter(sync_schemas.ResolveRequest), fields)
        context = info.context
        async with context.tenant_session() as (session, tenant_id):
            row = await sync_service.resolve_conflict(
                session,
                conflict_id,
                tenant_id=tenant_id,
                choice=body.choice,
                value=getattr(body, "value", None),
            )
            # after the response, hence after the commit, as on REST
            assert context.background_tasks is not None
            context.background_tasks.add_task(
                context.services.observer.conflict_resolved, tenant_id=tenant_id, conflict_id=row.id
            )
        return Conflict.of(row)

    @strawberry.mutation(description="Releases a quarantined entity for the next run.")
    async def replay_quarantined(
        self,
        info: Info,
        id: strawberry.ID,
    ) -> strawberry.ID:
        quarantine_id = paging.parse_id(id, what="quarantined entity")
        async with info.context.tenant_session() as (session, tenant_id):
            await sync_service.replay_quarantined(session, quarantine_id, tenant_id=tenant_id)
        return id


def _checked(model: Any, fields: dict[str, Any]) -> Any:
    """`fields` through a REST request model; its complaints as `ValidationFailed`."""
    adapter = model if isinstance(model, pydantic.TypeAdapter) else pydantic.TypeAdapter(model)
    try:
        return adapter.validate_python(fields)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ValidationFailed(problems) from None
