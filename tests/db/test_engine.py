"""The engine's transaction modes: read sessions never queue behind a writer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from todosync.db import engine as db_engine
from todosync.store.models import TodoList

ReadSessions = Callable[
    [AsyncEngine, async_sessionmaker[AsyncSession]], async_sessionmaker[AsyncSession]
]
FACTORIES: dict[str, ReadSessions] = {
    "from the engine": lambda engine, _: db_engine.create_read_sessionmaker(engine),
    "twin of a sessionmaker": lambda _, sessionmaker: db_engine.read_only_twin(sessionmaker),
}


@pytest.mark.parametrize("factory", FACTORIES.values(), ids=FACTORIES.keys())
async def test_a_read_session_runs_beside_an_open_write_transaction(
    factory: ReadSessions,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A read session reads the last committed state while a writer holds its lock."""
    read_sessionmaker = factory(engine, sessionmaker)
    async with sessionmaker.begin() as writer:
        await writer.execute(sa.insert(TodoList).values(tenant_id=1, uid="u-1", name="pending"))
        async with read_sessionmaker() as reader:
            # with BEGIN IMMEDIATE this would wait for the writer (and time out here)
            count = await asyncio.wait_for(
                reader.scalar(sa.select(sa.func.count()).select_from(TodoList)), timeout=5
            )
    assert count == 0
