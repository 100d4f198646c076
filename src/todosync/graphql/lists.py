"""`TodoList` and `TodoItem`, whose links are batched: the items of every list in one
response are read by one query per distinct (`first`, `after`) (`store.service.items_of_lists`),
and the lists of every item by one query (`store.service.get_lists`), not one per row, through
DataLoaders that live for one operation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from todosync.api import pagination
from todosync.db.page import Page
from todosync.errors import NotFoundError
from todosync.graphql import paging
from todosync.graphql.context import Context
from todosync.graphql.history import Moment, Version, state_connection, versions_of
from todosync.graphql.types import Connection
from todosync.history import service as history_service
from todosync.history.fold import State
from todosync.store import service

__all__ = ["TodoItem", "TodoList"]

KeyT = TypeVar("KeyT")
ValueT = TypeVar("ValueT")
# (list id, after id, limit)
_ItemsKey = tuple[int, int, int]


@strawberry.type
class TodoList:
    id: strawberry.ID
    name: str
    created_at: datetime
    updated_at: datetime
    # the moment of a read of the past (`asOf`): its items are read at the same moment
    at: strawberry.Private[Moment | None] = None

    @strawberry.field(description="The list's live items (at the list's moment), oldest first.")
    async def items(
        self,
        info: strawberry.Info[Context, None],
        first: int = pagination.DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[TodoItem]:
        after_id, limit = paging.start(first, after)
        if self.at is not None:  # a read of the past: one fold per list, not batched
            async with info.context.tenant_session() as (session, tenant_id):
                past = await history_service.list_items(
                    session,
                    int(self.id),
                    tenant_id=tenant_id,
                    at=self.at,
                    after_id=after_id,
                    limit=limit,
                )
            return state_connection(past, TodoItem.of_state)
        loader = _loader(info.context, "items", _load_items)
        page = await loader.load((int(self.id), after_id, limit))
        return paging.connection(page, TodoItem.of)

    @strawberry.field(description="Every version of the list, oldest first.")
    async def versions(
        self,
        info: strawberry.Info[Context, None],
        first: int = pagination.DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[Version]:
        return await versions_of(info.context, int(self.id), first=first, after=after)

    @classmethod
    def of(cls, row: Any) -> TodoList:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    def of_state(cls, state: State, *, at: Moment) -> TodoList:
        """A list as the history folded it at `at`."""
        assert state.created_at is not None, "alive"
        assert state.updated_at is not None, "alive"
        return cls(
            id=strawberry.ID(str(state.entity_id)),
            name=state.fields["name"],
            created_at=state.created_at,
            updated_at=state.updated_at,
            at=at,
        )


@strawberry.type
class TodoItem:
    id: strawberry.ID
    list_id: strawberry.ID
    description: str
    completed: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field(name="list", description="The list the item is in.")
    async def todo_list(self, info: strawberry.Info[Context, None]) -> TodoList:
        row = await _loader(info.context, "lists", _load_lists).load(int(self.list_id))
        if row is None:  # deleted since the item was read
            raise NotFoundError(f"list {self.list_id} not found")
        return TodoList.of(row)

    @strawberry.field(description="Every version of the item, oldest first.")
    async def versions(
        self,
        info: strawberry.Info[Context, None],
        first: int = pagination.DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[Version]:
        return await versions_of(
            info.context, int(self.id), list_id=int(self.list_id), first=first, after=after
        )

    @classmethod
    def of_state(cls, state: State) -> TodoItem:
        """An item as the history folded it."""
        assert state.created_at is not None, "alive"
        assert state.updated_at is not None, "alive"
        return cls(
            id=strawberry.ID(str(state.entity_id)),
            list_id=strawberry.ID(str(state.list_id)),
            description=state.fields["description"],
            completed=state.fields["completed"],
            created_at=state.created_at,
            updated_at=state.updated_at,
        )

    @classmethod
    def of(cls, row: Any) -> TodoItem:
        """From an ORM item or a `store.repository.ItemRow`."""
        return cls(
            id=strawberry.ID(str(row.id)),
            list_id=strawberry.ID(str(row.list_id)),
            description=row.description,
            completed=row.completed,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _loader(
    context: Context,
    name: str,
    batch: Callable[[Context, Sequence[KeyT]], Awaitable[list[ValueT]]],
) -> DataLoader[KeyT, ValueT]:
    """The operation's loader called `name`, made on first use."""
    loader: DataLoader[KeyT, ValueT] | None = context.loaders.get(name)
    if loader is None:

        async def load(keys: Sequence[KeyT]) -> list[ValueT]:
            return await batch(context, keys)

        loader = DataLoader(load_fn=load)
        context.loaders[name] = loader
    return loader


async def _load_items(context: Context, keys: Sequence[_ItemsKey]) -> list[Page[Any]]:
    lists_by_start: dict[tuple[int, int], list[int]] = defaultdict(list)
    for list_id, after_id, limit in keys:
        lists_by_start[(after_id, limit)].append(list_id)
    pages: dict[_ItemsKey, Page[Any]] = {}
    async with context.tenant_session() as (session, tenant_id):
        for (after_id, limit), list_ids in lists_by_start.items():
            found = await service.items_of_lists(
                session, list_ids, tenant_id=tenant_id, after_id=after_id, limit=limit
            )
            pages.update({(i, after_id, limit): page for i, page in found.items()})
    return [pages[key] for key in keys]


async def _load_lists(context: Context, keys: Sequence[int]) -> list[Any]:
    async with context.tenant_session() as (session, tenant_id):
        found = await service.get_lists(session, keys, tenant_id=tenant_id)
    return [found.get(key) for key in keys]
