"""GET requests run in read-only sessions: beside a writer, never writing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.fixtures.store import load, make_item, make_list
from todosync import runtime
from todosync.db import engine as db_engine
from todosync.db.sessions import ReadOnlyViolation
from todosync.store.models import TodoItem, TodoList

# Far below SQLite's busy timeout (30 s): a request that queued for the write lock fails it.
_PATIENCE_S = 5.0


async def _item(session: AsyncSession) -> TodoItem:
    return await make_item(session, todo_list=await make_list(session), description="Old")


@contextlib.asynccontextmanager
async def _writer_holding(
    engine: AsyncEngine, item: TodoItem, *, description: str
) -> AsyncIterator[AsyncSession]:
    """A transaction that has changed `item`, uncommitted: it holds the write lock (SQLite) or
    the row (PostgreSQL) until the caller commits or rolls it back."""
    async with db_engine.create_sessionmaker(engine)() as writer:
        await writer.execute(
            sa.update(TodoItem).where(TodoItem.id == item.id).values(description=description)
        )
        yield writer


async def test_get_does_not_wait_for_an_open_write_transaction(
    client: httpx.AsyncClient, engine: AsyncEngine, session: AsyncSession
) -> None:
    """While another transaction holds uncommitted writes, a GET answers at once, from the
    last committed state."""
    item = await _item(session)
    path = f"/api/todolists/{item.list_id}/items"
    async with _writer_holding(engine, item, description="New") as writer:
        response = await asyncio.wait_for(client.get(path), _PATIENCE_S)
        single = await asyncio.wait_for(client.get(f"{path}/{item.id}"), _PATIENCE_S)
        await writer.rollback()
    assert response.status_code == 200
    assert [row["description"] for row in response.json()["data"]] == ["Old"]
    assert single.json()["description"] == "Old"


async def test_patch_still_waits_for_an_open_write_transaction(
    client: httpx.AsyncClient, engine: AsyncEngine, session: AsyncSession
) -> None:
    """A PATCH is a write: it waits for the other writer to finish, then applies."""
    item = await _item(session)
    async with _writer_holding(engine, item, description="Other") as writer:
        patch = asyncio.create_task(
            client.patch(f"/api/todolists/{item.list_id}/items/{item.id}", json={"completed": True})
        )
        await asyncio.sleep(0.3)
        assert not patch.done()
        await writer.commit()
    response = await asyncio.wait_for(patch, _PATIENCE_S)
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["completed"]) == ("Other", True)


async def test_an_orm_write_in_a_read_session_fails(
    app: FastAPI, engine: AsyncEngine, session: AsyncSession
) -> None:
    """Flushing a changed instance in a read-only session raises, and nothing is stored."""
    todo = await make_list(session)
    async with runtime.services_of(app).read_sessionmaker() as read:
        row = await read.get(TodoList, todo.id)
        assert row is not None
        row.name = "Changed"
        with pytest.raises(ReadOnlyViolation):
            await read.flush()
    assert (await load(engine, TodoList, todo.id)).name == "Groceries"


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(TodoList).values(name="Changed"),
        sa.insert(TodoList).values(tenant_id=1, name="New", uid="u-1", version=1),
        sa.delete(TodoList),
        sa.text("UPDATE todo_lists SET name = 'Changed'"),
        sa.text("  delete from todo_lists"),
    ],
    ids=["update", "insert", "delete", "text-update", "text-delete"],
)
async def test_a_core_write_in_a_read_session_fails(
    app: FastAPI, engine: AsyncEngine, session: AsyncSession, statement: sa.Executable
) -> None:
    """Any INSERT, UPDATE or DELETE statement in a read-only session raises before it runs."""
    todo = await make_list(session)
    async with runtime.services_of(app).read_sessionmaker() as read:
        with pytest.raises(ReadOnlyViolation):
            await read.execute(statement)
    assert (await load(engine, TodoList, todo.id)).name == "Groceries"


async def test_read_sessions_are_read_only_at_the_server(app: FastAPI, is_postgres: bool) -> None:
    """On PostgreSQL a read session's transaction is READ ONLY, and a writing session that
    reuses the pooled connection afterwards is not."""
    if not is_postgres:
        pytest.skip("READ ONLY transactions are PostgreSQL's")
    show = sa.text("SHOW transaction_read_only")
    async with runtime.services_of(app).read_sessionmaker() as read:
        assert (await read.execute(show)).scalar_one() == "on"
    async with runtime.services_of(app).sessionmaker() as write:
        assert (await write.execute(show)).scalar_one() == "off"


async def test_metrics_do_not_wait_for_an_open_write_transaction(
    client: httpx.AsyncClient, engine: AsyncEngine, session: AsyncSession
) -> None:
    """A scrape of `/metrics` reads in a read-only session too: a writer does not hold it up."""
    item = await _item(session)
    async with _writer_holding(engine, item, description="New") as writer:
        response = await asyncio.wait_for(client.get("/metrics"), _PATIENCE_S)
        await writer.rollback()
    assert response.status_code == 200


async def test_writing_requests_queue_at_the_write_gate(
    app: FastAPI,
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    session: AsyncSession,
    is_postgres: bool,
) -> None:
    """On SQLite a writing request waits at the app's gate, without holding the database's
    write lock, and goes on as soon as the gate opens."""
    if is_postgres:
        pytest.skip("PostgreSQL locks rows: its gate is always open")
    item = await _item(session)
    async with runtime.services_of(app).write_gate:
        patch = asyncio.create_task(
            client.patch(f"/api/todolists/{item.list_id}/items/{item.id}", json={"completed": True})
        )
        await asyncio.sleep(0.2)
        assert not patch.done()
        async with db_engine.create_sessionmaker(engine)() as writer:
            statement = sa.update(TodoList).where(TodoList.id == item.list_id).values(name="N")
            await asyncio.wait_for(writer.execute(statement), _PATIENCE_S)
            await writer.commit()
    response = await asyncio.wait_for(patch, _PATIENCE_S)
    assert (response.status_code, response.json()["completed"]) == (200, True)


async def test_concurrent_writes_and_reads_all_apply(
    client: httpx.AsyncClient, engine: AsyncEngine, session: AsyncSession
) -> None:
    """Many concurrent PATCHes and GETs all succeed, and every PATCH is stored exactly once."""
    todo = await make_list(session)
    items = [await make_item(session, todo_list=todo, description=f"i{n}") for n in range(20)]
    path = f"/api/todolists/{todo.id}/items"
    patches = [client.patch(f"{path}/{item.id}", json={"completed": True}) for item in items]
    gets = [client.get(path) for _ in range(20)]
    responses = await asyncio.wait_for(asyncio.gather(*patches, *gets), 4 * _PATIENCE_S)
    assert {response.status_code for response in responses} == {200}
    for item in items:
        stored = await load(engine, TodoItem, item.id)
        assert (stored.completed, stored.version) == (True, 2)
