"""Cursor pagination: defaults, limits, invalid cursors, and stable walks under inserts."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import assert_problem
from tests.fixtures.store import make_item, make_list
from todosync.api.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
)
from todosync.store import service
from todosync.store.models import DEFAULT_TENANT_ID


async def _make_lists(session: AsyncSession, count: int) -> list[int]:
    """`count` lists in one transaction (fast); their ids."""
    ids = []
    for index in range(count):
        row = await service.create_list(session, tenant_id=DEFAULT_TENANT_ID, name=f"L{index}")
        ids.append(row.id)
    await session.commit()
    return ids


async def test_default_and_maximum_page_sizes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Without `limit` a page holds 50 rows; `limit=200` is the largest page."""
    await _make_lists(session, MAX_LIMIT + 5)
    first = (await client.get("/api/todolists")).json()
    assert len(first["data"]) == DEFAULT_LIMIT
    assert first["next_cursor"]
    biggest = (await client.get("/api/todolists", params={"limit": MAX_LIMIT})).json()
    assert len(biggest["data"]) == MAX_LIMIT


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_LIMIT + 1), "abc", "1.5", "", "9" * 30])
async def test_invalid_limit_is_422(client: httpx.AsyncClient, limit: str) -> None:
    """A limit outside 1..200, or not an integer, is a 422 naming `limit`."""
    problem = assert_problem(await client.get("/api/todolists", params={"limit": limit}), 422)
    assert problem["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    "cursor",
    ["", "short", "A" * 10, "A" * 12, "AAAAAAAAAA=", "AAAAAAAAAA+", "AAAAAAAAAA/", "é" * 11],
)
async def test_malformed_cursor_is_422(
    client: httpx.AsyncClient, session: AsyncSession, cursor: str
) -> None:
    """A cursor not of the shape the API hands out is a 422 naming `cursor`, on lists and items."""
    todo = await make_list(session)
    for path in ("/api/todolists", f"/api/todolists/{todo.id}/items"):
        problem = assert_problem(await client.get(path, params={"cursor": cursor}), 422)
        assert problem["errors"][0]["loc"] == ["query", "cursor"]


async def test_well_formed_cursor_beyond_every_id_is_an_empty_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Any cursor of the right shape only says where to start: past the largest id, nothing."""
    await make_list(session)
    body = (await client.get("/api/todolists", params={"cursor": "_" * 11})).json()
    assert body == {"data": [], "next_cursor": None}


async def test_unknown_query_parameter_is_422(client: httpx.AsyncClient) -> None:
    """A misspelt parameter (`limt`) is refused rather than silently ignored."""
    problem = assert_problem(await client.get("/api/todolists", params={"limt": 5}), 422)
    assert problem["errors"][0]["loc"] == ["query", "limt"]


def test_cursor_round_trip() -> None:
    """A cursor decodes to the id it was made from, up to the largest id."""
    for last_id in (0, 1, 42, 2**63 - 1):
        cursor = encode_cursor(last_id)
        assert re.fullmatch(CURSOR_PATTERN, cursor)
        assert decode_cursor(cursor) == last_id


async def test_walk_sees_every_list_once_while_rows_are_inserted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Walking all pages while lists are added between pages misses and repeats nothing."""
    initial = await _make_lists(session, 23)
    added: list[int] = []
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/todolists", params=params)).json()
        seen.extend(row["id"] for row in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        added.append((await make_list(session, name=f"added {len(added)}")).id)
    assert len(seen) == len(set(seen))
    assert seen == sorted(initial + added)


async def test_walk_over_items_with_inserts_and_deletes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Item pages skip rows deleted mid-walk and include rows added mid-walk, each once."""
    todo = await make_list(session)
    items = [(await make_item(session, todo_list=todo, description=f"i{n}")).id for n in range(12)]
    deleted = items[9]
    seen: list[int] = []
    added: list[int] = []
    cursor: str | None = None
    path = f"/api/todolists/{todo.id}/items"
    while True:
        params: dict[str, str | int] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params)).json()
        seen.extend(row["id"] for row in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if not added:
            assert (await client.delete(f"{path}/{deleted}")).status_code == 204
        added.append((await make_item(session, todo_list=todo, description="new")).id)
    expected = sorted(set(items + added) - {deleted})
    assert seen == expected


async def test_exact_multiple_ends_with_an_empty_cursor(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """When the rows fill the pages exactly, the last full page already says there is no more."""
    await _make_lists(session, 6)
    first = (await client.get("/api/todolists", params={"limit": 3})).json()
    second = (
        await client.get("/api/todolists", params={"limit": 3, "cursor": first["next_cursor"]})
    ).json()
    assert len(second["data"]) == 3
    assert second["next_cursor"] is None
