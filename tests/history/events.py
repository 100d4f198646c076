"""Reading the event table in tests, in a short session of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
    whose length is that count (each entry: the rows the statement carried)."""
    seen: list[int] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ENTITY_EVENTS"):
            seen.append(len(parameters) if many else 1)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", before)
