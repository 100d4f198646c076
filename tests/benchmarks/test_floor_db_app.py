"""The db floor of the API load (`benchmarks/floor_db_app.py`) runs serve's SQL: the same
statements, in the same order, as the app sends for the benchmark's requests, on this
database's dialect. A change to serve's queries that the floor does not follow fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from benchmarks import floor_db_app
from tests.fixtures.api import BASE_URL, TenantToken
from tests.fixtures.statements import sent_statements
from tests.fixtures.store import make_item, make_list


@pytest.fixture
async def floor(database_url: str) -> AsyncIterator[Starlette]:
    app = floor_db_app.create(database_url)
    yield app
    await app.state.floor.engine.dispose()


async def _requests(app: Starlette | FastAPI, token: str, path: str) -> list[bytes]:
    """The benchmark's requests: a page, a PATCH that writes, a PATCH that writes back."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        page = await http.get(f"{path}?limit=50")
        done = [page.content]
        for completed in (b"true", b"false"):
            patched = await http.patch(
                f"{path}/{page.json()['data'][0]['id']}",
                content=b'{"completed": ' + completed + b"}",
            )
            assert patched.status_code == 200, patched.text
            done.append(patched.content)
    return done


async def _page(app: Starlette | FastAPI, token: str, path: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        return (await http.get(f"{path}?limit=50")).content


def _shape(statements: list[str]) -> list[str]:
    # (on SQLite the engine's own `BEGIN` / `BEGIN IMMEDIATE` is among them, for both)
    return [" ".join(statement.split()) for statement in statements]


async def test_the_floor_sends_serves_statements(
    app: FastAPI,
    engine: AsyncEngine,
    floor: Starlette,
    session: AsyncSession,
    tenant: TenantToken,
) -> None:
    """For a page, a PATCH and a PATCH back, the floor sends the statements that serve sends,
    and answers the page with serve's bytes."""
    todo_list = await make_list(session)
    for n in range(3):
        await make_item(session, todo_list=todo_list, description=f"item {n}")
    path = f"/api/todolists/{todo_list.id}/items"

    with sent_statements(engine) as served:
        serve_answers = await _requests(app, tenant.token, path)
    with sent_statements(floor.state.floor.engine) as floored:
        floor_answers = await _requests(floor, tenant.token, path)

    assert _shape(floored) == _shape(served)
    assert any(s.startswith("UPDATE todo_items") for s in served)
    # the same state read by both (each one's PATCHes moved an `updated_at` before)
    assert await _page(floor, tenant.token, path) == await _page(app, tenant.token, path)
    assert [len(a) for a in floor_answers] == [len(a) for a in serve_answers]
