"""Lists through HTTP: shapes, status codes, versions and soft deletes."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.helpers import LIST_KEYS, assert_problem, assert_timestamp
from tests.fixtures.store import load, make_item, make_list
from todosync.store.models import TodoItem, TodoList


async def test_create_returns_201_with_location_and_the_list(client: httpx.AsyncClient) -> None:
    """POST answers 201, a Location that leads to the list, and exactly the list's fields."""
    response = await client.post("/api/todolists", json={"name": "Groceries"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == LIST_KEYS
    assert body["name"] == "Groceries"
    assert response.headers["location"] == f"/api/todolists/{body['id']}"
    assert_timestamp(body["created_at"])
    assert body["updated_at"] == body["created_at"]
    fetched = await client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_collection_shape(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """GET on the collection answers `data` and a null `next_cursor` when all fit one page."""
    first = await make_list(session, name="A")
    second = await make_list(session, name="B")
    response = await client.get("/api/todolists")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "next_cursor"}
    assert [row["id"] for row in body["data"]] == [first.id, second.id]
    assert body["next_cursor"] is None
    assert all(set(row) == LIST_KEYS for row in body["data"])


async def test_patch_renames_and_bumps_version_once(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """PATCH answers 200 with the change; the stored version goes up by one."""
    todo = await make_list(session)
    response = await client.patch(f"/api/todolists/{todo.id}", json={"name": "Hardware"})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Hardware"
    assert body["created_at"] != body["updated_at"]
    stored = await load(engine, TodoList, todo.id)
    assert (stored.name, stored.version) == ("Hardware", 2)


async def test_empty_or_unchanged_patch_keeps_the_version(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """An empty PATCH, or one that repeats the current name, is a 200 that writes nothing."""
    todo = await make_list(session, name="Same")
    for body in ({}, {"name": "Same"}):
        response = await client.patch(f"/api/todolists/{todo.id}", json=body)
        assert response.status_code == 200
        assert response.json()["name"] == "Same"
    stored = await load(engine, TodoList, todo.id)
    assert stored.version == 1
    assert stored.updated_at == todo.updated_at


async def test_delete_is_soft_and_takes_the_items(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """DELETE answers 204; the list and its items become tombstones that the API hides."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    assert (await client.delete(f"/api/todolists/{todo.id}")).status_code == 204
    for method, path in (
        ("GET", f"/api/todolists/{todo.id}"),
        ("PATCH", f"/api/todolists/{todo.id}"),
        ("DELETE", f"/api/todolists/{todo.id}"),
        ("GET", f"/api/todolists/{todo.id}/items"),
        ("GET", f"/api/todolists/{todo.id}/items/{item.id}"),
    ):
        body = {"name": "x"} if method == "PATCH" else None
        assert_problem(await client.request(method, path, json=body), 404)
    assert (await client.get("/api/todolists")).json()["data"] == []
    stored_list = await load(engine, TodoList, todo.id)
    stored_item = await load(engine, TodoItem, item.id)
    assert stored_list.deleted_at is not None
    assert stored_item.deleted_at == stored_list.deleted_at
    assert (stored_list.version, stored_item.version) == (2, 2)


async def test_unknown_list_is_404(client: httpx.AsyncClient) -> None:
    """Every route on a list id that never existed answers a 404 problem."""
    for method in ("GET", "PATCH", "DELETE"):
        body: dict[str, str] | None = {} if method == "PATCH" else None
        body = assert_problem(await client.request(method, "/api/todolists/987654", json=body), 404)
        assert "987654" in body["detail"]
