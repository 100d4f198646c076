"""Items through HTTP: shapes, status codes, versions and soft deletes."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.helpers import ITEM_KEYS, assert_problem, assert_timestamp
from tests.fixtures.store import load, make_item, make_list
from todosync.store.models import TodoItem, TodoList


async def test_create_returns_201_with_location_and_the_item(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """POST answers 201 with the item and its Location; the list itself is not written."""
    todo = await make_list(session)
    response = await client.post(
        f"/api/todolists/{todo.id}/items", json={"description": "Milk", "completed": True}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == ITEM_KEYS
    assert (body["list_id"], body["description"], body["completed"]) == (todo.id, "Milk", True)
    assert response.headers["location"] == f"/api/todolists/{todo.id}/items/{body['id']}"
    assert_timestamp(body["created_at"])
    assert (await client.get(response.headers["location"])).json() == body
    assert (await load(engine, TodoList, todo.id)).version == 1


async def test_completed_defaults_to_false(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """An item created without `completed` is open."""
    todo = await make_list(session)
    response = await client.post(f"/api/todolists/{todo.id}/items", json={"description": "Eggs"})
    assert response.json()["completed"] is False


async def test_collection_holds_only_this_lists_live_items(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """GET on a list's items shows its live items only, in id order."""
    todo = await make_list(session)
    other = await make_list(session, name="Other")
    first = await make_item(session, todo_list=todo, description="one")
    gone = await make_item(session, todo_list=todo, description="gone")
    await make_item(session, todo_list=other, description="elsewhere")
    last = await make_item(session, todo_list=todo, description="three")
    assert (await client.delete(f"/api/todolists/{todo.id}/items/{gone.id}")).status_code == 204
    body = (await client.get(f"/api/todolists/{todo.id}/items")).json()
    assert [row["id"] for row in body["data"]] == [first.id, last.id]
    assert body["next_cursor"] is None


async def test_patch_changes_fields_and_bumps_version(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """PATCH changes only the fields given and bumps the version once per write."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo, description="Milk")
    path = f"/api/todolists/{todo.id}/items/{item.id}"
    response = await client.patch(path, json={"completed": True})
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["completed"]) == ("Milk", True)
    response = await client.patch(path, json={"description": "Oat milk", "completed": True})
    assert response.json()["description"] == "Oat milk"
    stored = await load(engine, TodoItem, item.id)
    assert (stored.description, stored.completed, stored.version) == ("Oat milk", True, 3)


async def test_empty_patch_keeps_the_version(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """An empty PATCH answers the item unchanged and writes nothing."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    response = await client.patch(f"/api/todolists/{todo.id}/items/{item.id}", json={})
    assert response.status_code == 200
    assert (await load(engine, TodoItem, item.id)).version == 1


async def test_delete_is_soft(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """DELETE answers 204; the item is a tombstone that every route treats as unknown."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    path = f"/api/todolists/{todo.id}/items/{item.id}"
    assert (await client.delete(path)).status_code == 204
    for method in ("GET", "PATCH", "DELETE"):
        body: dict[str, str] | None = {} if method == "PATCH" else None
        assert_problem(await client.request(method, path, json=body), 404)
    stored = await load(engine, TodoItem, item.id)
    assert stored.deleted_at is not None
    assert stored.version == 2


async def test_item_of_another_list_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """An item addressed through a list it does not belong to is unknown."""
    todo = await make_list(session)
    other = await make_list(session, name="Other")
    item = await make_item(session, todo_list=todo)
    path = f"/api/todolists/{other.id}/items/{item.id}"
    for method in ("GET", "PATCH", "DELETE"):
        body: dict[str, str] | None = {} if method == "PATCH" else None
        assert_problem(await client.request(method, path, json=body), 404)


async def test_unknown_list_is_404_for_item_routes(client: httpx.AsyncClient) -> None:
    """Item routes under a list that does not exist answer 404, creation included."""
    assert_problem(await client.get("/api/todolists/424242/items"), 404)
    response = await client.post("/api/todolists/424242/items", json={"description": "x"})
    assert_problem(response, 404)


async def test_no_item_is_created_in_a_deleted_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """POST to a deleted list's items is a 404."""
    todo = await make_list(session)
    assert (await client.delete(f"/api/todolists/{todo.id}")).status_code == 204
    response = await client.post(f"/api/todolists/{todo.id}/items", json={"description": "x"})
    assert_problem(response, 404)
