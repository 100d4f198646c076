"""DataLoaders: the items of every list in a response are read together, so the number of
SQL statements of a query does not grow with the number of lists."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.fixtures.statements import sent_statements
from tests.graphql.helpers import data
from todosync.store import service

QUERY = """{ lists(first: 50) { edges { node { id name
  items(first: 50) {
    edges { node { id description list { id } } }
    pageInfo { hasNextPage } } } } } }"""


async def _add_lists(session: AsyncSession, *, count: int, items: int) -> None:
    for number in range(count):
        todo = await service.create_list(session, tenant_id=1, name=f"List {number}")
        for item in range(items):
            await service.create_item(
                session, tenant_id=1, list_id=todo.id, description=f"Item {item}"
            )
    await session.commit()


async def _statements(client: httpx.AsyncClient, engine: AsyncEngine) -> tuple[int, Any]:
    with sent_statements(engine) as statements:
        found = await data(client, QUERY)
    # the token check is looked up or cached (`TODOSYNC_TOKEN_CACHE_SECONDS`): not counted
    return len([s for s in statements if "api_tokens" not in s]), found


async def test_statements_do_not_grow_with_the_lists(
    client: httpx.AsyncClient, engine: AsyncEngine, session: AsyncSession
) -> None:
    """50 lists with their first 50 items cost as many statements as 2 lists do."""
    await _add_lists(session, count=2, items=3)
    few, _ = await _statements(client, engine)
    await _add_lists(session, count=48, items=3)
    many, found = await _statements(client, engine)
    edges = found["lists"]["edges"]
    assert len(edges) == 50
    assert all(len(edge["node"]["items"]["edges"]) == 3 for edge in edges)
    assert many == few, (few, many)
    assert many <= 4  # BEGIN, the lists, their items, the items' lists
