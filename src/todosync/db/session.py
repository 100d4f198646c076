"""One unit of work outside a request: for CLI commands and one-off set-up steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.db import engine as db_engine

__all__ = ["run_in_transaction"]

T = TypeVar("T")


async def run_in_transaction(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs `work` in one transaction on a short-lived engine: committed if it returns, rolled
    back if it raises; the engine is disposed either way."""
    engine = db_engine.create_engine(database_url)
    try:
        async with db_engine.create_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()
