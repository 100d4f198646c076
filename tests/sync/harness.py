"""Both sides of a sync under test: the local store (through its service) and the fake
external API (through its fixture handle), each seen as a comparable, sorted snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.store import service
from todosync.store.models import TodoItem, TodoList
from todosync.sync.books.models import SyncConflict

__all__ = ["LocalSide", "Snapshot", "remote_item_id", "remote_list_id", "remote_snapshot"]

Snapshot = list[tuple[str, list[tuple[str, bool]]]]
"""Every live list as (name, sorted items as (description, completed)), sorted."""


class LocalSide:
    """Edits the local store as the API would, through the store service."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: int = 1):
        self.sessionmaker = sessionmaker
        self.tenant_id = tenant_id

    async def create_list(self, name: str, items: Sequence[str | tuple[str, bool]] = ()) -> int:
        async with self.sessionmaker.begin() as session:
            todo = await service.create_list(session, tenant_id=self.tenant_id, name=name)
            for item in items:
                description, completed = (item, False) if isinstance(item, str) else item
                await service.create_item(
                    session,
                    tenant_id=self.tenant_id,
                    list_id=todo.id,
                    description=description,
                    completed=completed,
                )
            return todo.id

    async def add_item(self, list_id: int, description: str, *, completed: bool = False) -> int:
        async with self.sessionmaker.begin() as session:
            item = await service.create_item(
                session,
                tenant_id=self.tenant_id,
                list_id=list_id,
                description=description,
                completed=completed,
            )
            return item.id

    async def rename_list(self, list_id: int, name: str) -> None:
        async with self.sessionmaker.begin() as session:
            await service.update_list(session, list_id, tenant_id=self.tenant_id, name=name)

    async def update_item(self, list_id: int, item_id: int, **fields: Any) -> None:
        async with self.sessionmaker.begin() as session:
            await service.update_item(
                session, item_id, tenant_id=self.tenant_id, list_id=list_id, **fields
            )

    async def delete_list(self, list_id: int) -> None:
        async with self.sessionmaker.begin() as session:
            await service.delete_list(session, list_id, tenant_id=self.tenant_id)

    async def delete_item(self, list_id: int, item_id: int) -> None:
        async with self.sessionmaker.begin() as session:
            await service.delete_item(session, item_id, tenant_id=self.tenant_id, list_id=list_id)

    async def list_ids(self) -> dict[str, int]:
        """Live lists by name."""
        async with self.sessionmaker() as session:
            rows = await session.execute(
                sa.select(TodoList.name, TodoList.id).where(
                    TodoList.tenant_id == self.tenant_id, TodoList.deleted_at.is_(None)
                )
            )
            return dict(rows.all())

    async def item_ids(self, list_id: int) -> dict[str, int]:
        """Live items of a list by description."""
        async with self.sessionmaker() as session:
            rows = await session.execute(
                sa.select(TodoItem.description, TodoItem.id).where(
                    TodoItem.list_id == list_id, TodoItem.deleted_at.is_(None)
                )
            )
            return dict(rows.all())

    async def snapshot(self) -> Snapshot:
        async with self.sessionmaker() as session:
            lists = await session.execute(
                sa.select(TodoList.id, TodoList.name).where(
                    TodoList.tenant_id == self.tenant_id, TodoList.deleted_at.is_(None)
                )
            )
            items = await session.execute(
                sa.select(TodoItem.list_id, TodoItem.description, TodoItem.completed).where(
                    TodoItem.tenant_id == self.tenant_id, TodoItem.deleted_at.is_(None)
                )
            )
        by_list: dict[int, list[tuple[str, bool]]] = {}
        for list_id, description, completed in items:
            by_list.setdefault(list_id, []).append((description, bool(completed)))
        return sorted((name, sorted(by_list.get(id_, []))) for id_, name in lists)

    async def conflicts(self) -> list[SyncConflict]:
        async with self.sessionmaker() as session:
            result = await session.execute(sa.select(SyncConflict).order_by(SyncConflict.id))
            return list(result.scalars())


def remote_snapshot(state: Sequence[dict[str, Any]]) -> Snapshot:
    """The fake's state in the same shape as `LocalSide.snapshot`."""
    return sorted(
        (
            str(todo["name"]),
            sorted((str(i["description"]), bool(i["completed"])) for i in todo.get("items", [])),
        )
        for todo in state
    )


def remote_list_id(state: Sequence[dict[str, Any]], name: str) -> str:
    """The remote id of the (only) list called `name`."""
    (found,) = [todo["id"] for todo in state if todo["name"] == name]
    return str(found)


def remote_item_id(state: Sequence[dict[str, Any]], list_name: str, description: str) -> str:
    (todo,) = [todo for todo in state if todo["name"] == list_name]
    (found,) = [i["id"] for i in todo.get("items", []) if i["description"] == description]
    return str(found)
