"""Reading the event table in tests, in a short session of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from todosync.history.models import EntityEvent

__all__ = ["all_events", "count_event_inserts"]


async def all_events(engine: AsyncEngine) -> list[EntityEvent]:
    """Every event, by id."""
    async with engine.connect() as connection:
        result = await connection.execute(sa.select(EntityEvent).order_by(EntityEvent.id))
        return [EntityEvent(**row._mapping) for row in result]


@contextmanager
def count_event_inserts(engine: AsyncEngine) -> Iterator[list[int]]:
    """Counts the statements that insert into the event table while inside; yields a list
    whose length is that count (each entry: the rows the statement carried). INSERTs are
    seen through SQLAlchemy's events; PostgreSQL's COPY (`db.bulk_insert`), which goes to
    psycopg directly, through psycopg's cursor."""
    seen: list[int] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ENTITY_EVENTS"):
            seen.append(len(parameters) if many else 1)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        with _count_copies(seen, table="entity_events"):
            yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", before)


@contextmanager
def _count_copies(seen: list[int], *, table: str) -> Iterator[None]:
    """Appends to `seen` the rows of each `COPY table` run while inside."""
    original = psycopg.AsyncCursor.copy

    @asynccontextmanager
    async def counted(manager: Any) -> AsyncIterator[Any]:
        seen.append(0)
        index = len(seen) - 1
        async with manager as copy:
            write_row = copy.write_row

            async def counting(row: Any) -> None:
                seen[index] += 1
                await write_row(row)

            copy.write_row = counting
            yield copy

    def copy(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        manager = original(self, statement, *args, **kwargs)
        if str(statement).upper().startswith(f"COPY {table.upper()} "):
            return counted(manager)
        return manager

    psycopg.AsyncCursor.copy = copy  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.AsyncCursor.copy = original  # type: ignore[method-assign]
