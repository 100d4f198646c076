"""Bad input, tried as a new user would: each is a clear 4xx problem and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.helpers import assert_problem
from tests.fixtures.store import make_item, make_list
from todosync.store.models import TodoItem, TodoList

JSON = {"content-type": "application/json"}


async def _counts(engine: AsyncEngine) -> tuple[int, int, int, int]:
    """Rows and summed versions of lists and items: any write changes one of them."""
    async with engine.connect() as connection:
        lists = (
            await connection.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(TodoList.version), 0))
            )
        ).one()
        items = (
            await connection.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(TodoItem.version), 0))
            )
        ).one()
        await connection.rollback()
    return (lists[0], lists[1], items[0], items[1])


@pytest.fixture
async def paths(session: AsyncSession) -> dict[str, str]:
    """Paths of an existing list and item, to send bad bodies to."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    return {
        "lists": "/api/todolists",
        "list": f"/api/todolists/{todo.id}",
        "items": f"/api/todolists/{todo.id}/items",
        "item": f"/api/todolists/{todo.id}/items/{item.id}",
    }


BAD_BODIES: list[tuple[str, str, Any, str]] = [
    # (method, path key, JSON body, the field the error names)
    ("POST", "lists", {}, "name"),
    ("POST", "lists", {"name": ""}, "name"),
    ("POST", "lists", {"name": "x" * 10_240}, "name"),
    ("POST", "lists", {"name": 123}, "name"),
    ("POST", "lists", {"name": None}, "name"),
    ("POST", "lists", {"name": ["a"]}, "name"),
    ("POST", "lists", {"name": "ok", "colour": "red"}, "colour"),
    ("POST", "lists", {"name": "nul\x00byte"}, "name"),
    ("POST", "lists", ["name"], ""),
    ("POST", "lists", "name", ""),
    ("PATCH", "list", {"name": None}, "name"),
    ("PATCH", "list", {"name": ""}, "name"),
    ("PATCH", "list", {"id": 5}, "id"),
    ("PATCH", "list", {"version": 9}, "version"),
    ("POST", "items", {"description": "x" * 10_001}, "description"),
    ("POST", "items", {"description": ""}, "description"),
    ("POST", "items", {"description": "ok", "completed": "true"}, "completed"),
    ("POST", "items", {"description": "ok", "completed": 1}, "completed"),
    ("POST", "items", {"description": "ok", "list_id": 2}, "list_id"),
    ("PATCH", "item", {"completed": None}, "completed"),
    ("PATCH", "item", {"description": None}, "description"),
    ("PATCH", "item", {"completed": "yes"}, "completed"),
]


@pytest.mark.parametrize(("method", "key", "body", "field"), BAD_BODIES)
async def test_invalid_bodies_are_422(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    paths: dict[str, str],
    method: str,
    key: str,
    body: Any,
    field: str,
) -> None:
    """Wrong types, empty or oversized text, nulls and unknown fields: 422 naming the field."""
    before = await _counts(engine)
    problem = assert_problem(await client.request(method, paths[key], json=body), 422)
    assert any(error["loc"][0] == "body" for error in problem["errors"])
    if field:
        assert any(field in error["loc"] for error in problem["errors"]), problem
    assert "x" * 100 not in str(problem)  # the input is not echoed back
    assert await _counts(engine) == before


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "a",}',
        b"nul",
        b"\xff\xfe",
        b"\xc3\x28{}",
        b'"\\ud800"',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["open", "trailing-comma", "bare-word", "bom", "not-utf8", "string", "nested-deep"],
)
async def test_invalid_json_is_422(
    client: httpx.AsyncClient, engine: AsyncEngine, paths: dict[str, str], raw: bytes
) -> None:
    """A body that is not JSON (or not an object) is a 422 about the body."""
    before = await _counts(engine)
    for method, key in (("POST", "lists"), ("PATCH", "item")):
        response = await client.request(method, paths[key], content=raw, headers=JSON)
        assert_problem(response, 422)
    assert await _counts(engine) == before


async def test_lone_surrogate_text_is_422(
    client: httpx.AsyncClient, engine: AsyncEngine, paths: dict[str, str]
) -> None:
    """Text that cannot be stored as UTF-8 is refused as input, not a 500."""
    before = await _counts(engine)
    raw = b'{"name": "bad \\ud800 text"}'
    problem = assert_problem(await client.post(paths["lists"], content=raw, headers=JSON), 422)
    assert problem["errors"][0]["loc"] == ["body", "name"]
    assert await _counts(engine) == before


async def test_longest_texts_are_accepted(client: httpx.AsyncClient, paths: dict[str, str]) -> None:
    """A 1000-character name and a 10000-character description are within the limits."""
    assert (await client.post(paths["lists"], json={"name": "n" * 1000})).status_code == 201
    response = await client.post(paths["items"], json={"description": "d" * 10_000})
    assert response.status_code == 201


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_non_json_content_type_is_415(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    paths: dict[str, str],
    content_type: str | None,
) -> None:
    """POST and PATCH bodies must be declared as JSON."""
    before = await _counts(engine)
    headers = {"content-type": content_type} if content_type else {}
    for method, key in (("POST", "lists"), ("PATCH", "list"), ("POST", "items"), ("PATCH", "item")):
        response = await client.request(
            method, paths[key], content=b'{"name": "x"}', headers=headers
        )
        assert_problem(response, 415)
    assert await _counts(engine) == before


async def test_json_with_charset_is_accepted(
    client: httpx.AsyncClient, paths: dict[str, str]
) -> None:
    """`application/json; charset=utf-8` is JSON."""
    headers = {"content-type": "application/json; charset=utf-8"}
    response = await client.post(paths["lists"], content=b'{"name": "x"}', headers=headers)
    assert response.status_code == 201


async def test_ten_megabyte_body_is_413(
    client: httpx.AsyncClient, engine: AsyncEngine, paths: dict[str, str]
) -> None:
    """A body above 1 MiB with a Content-Length is refused before it is read."""
    before = await _counts(engine)
    body = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    for method, key in (("POST", "lists"), ("PATCH", "item"), ("GET", "lists")):
        response = await client.request(method, paths[key], content=body, headers=JSON)
        assert_problem(response, 413)
    assert await _counts(engine) == before


async def test_streamed_body_over_the_limit_is_413(
    client: httpx.AsyncClient, engine: AsyncEngine, paths: dict[str, str]
) -> None:
    """A chunked body without Content-Length is cut off once it passes 1 MiB."""
    before = await _counts(engine)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}'

    response = await client.post(paths["lists"], content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)
    assert await _counts(engine) == before


@pytest.mark.parametrize(
    "bad_id", ["abc", "0", "-1", "1.5", "1e3", " 1", str(2**63), str(2**64), "9" * 40]
)
async def test_ids_of_the_wrong_shape_are_404(
    client: httpx.AsyncClient, paths: dict[str, str], bad_id: str
) -> None:
    """A list or item id that is not an integer from 1 to 2^63-1 names nothing: 404."""
    for method in ("GET", "PATCH", "DELETE"):
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        assert_problem(await client.request(method, f"/api/todolists/{bad_id}", **kwargs), 404)
        item_path = f"{paths['items']}/{bad_id}"
        assert_problem(await client.request(method, item_path, **kwargs), 404)
    response = await client.post(f"/api/todolists/{bad_id}/items", json={"description": "x"})
    assert_problem(response, 404)


async def test_largest_possible_id_is_a_plain_404(client: httpx.AsyncClient) -> None:
    """2^63-1 is a valid id that does not exist (and reaches the database without overflow)."""
    body = assert_problem(await client.get(f"/api/todolists/{2**63 - 1}"), 404)
    assert str(2**63 - 1) in body["detail"]


async def test_unknown_path_and_method(anonymous_client: httpx.AsyncClient) -> None:
    """An unknown path is a 404 problem; a wrong method is a 405 problem with `Allow`."""
    assert_problem(await anonymous_client.get("/api/nothing-here"), 404)
    response = await anonymous_client.put("/api/todolists")
    assert_problem(response, 405)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
