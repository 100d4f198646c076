"""Bulk INSERTs that go straight to the driver, for the paths that write tens of thousands of
rows at once (a first import: lists, items, ledger rows, log entries, history events).

Rows are plain tuples in a fixed column order whose values the driver takes as they are: JSON
columns already encoded as text, times as datetimes. Each distinct time goes once through its
column type's own bind processor (`UTCDateTime` and the dialect's), so SQLite stores exactly
the text that every other statement stores and the ORM reads back. SQLite gets the driver's
`executemany`; PostgreSQL gets `COPY ... FROM STDIN` on the same connection. SQLAlchemy's
per-row parameter and type processing, most of a first import's Python time, never runs.

`next_ids` hands out primary keys up front, for rows whose ids the caller needs (no
RETURNING: neither `executemany` nor COPY returns rows). Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from todosync.db.base import UTCDateTime

__all__ = ["Row", "defaults", "insert", "next_ids"]

Row = tuple[Any, ...]
_Convert = Callable[[Row], Row]
# (dialect, table, columns) -> statement and row conversion; few tables, built once each
_PLANS: dict[tuple[str, str, tuple[str, ...]], tuple[str, _Convert]] = {}
# Distinct times converted per column type and dialect before the cache starts over (a
# batch's rows share a few: one write time, remote times that often repeat).
_TIMES_KEPT = 10_000


async def insert(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Inserts `rows` (tuples in the order of `columns`) in the session's transaction."""
    if not rows:
        return
    connection = await session.connection()
    statement, convert = _plan(connection.dialect, table, tuple(columns))
    if connection.dialect.name == "postgresql":
        await _copy(connection, statement, [convert(row) for row in rows])
    else:
        await connection.exec_driver_sql(statement, [convert(row) for row in rows])


async def next_ids(session: AsyncSession, table: sa.Table, count: int) -> list[int]:
    """`count` new primary keys of `table`, as its own INSERTs would have assigned them.

    PostgreSQL: values of the column's sequence. SQLite: the ids after the largest one, which
    is what an INTEGER PRIMARY KEY without AUTOINCREMENT assigns; every write transaction
    holds SQLite's write lock from its `BEGIN IMMEDIATE`, so no other writer can take them
    before this transaction inserts them (one that tried would fail on the primary key)."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        series = sa.func.generate_series(1, count).table_valued("n")
        result = await session.execute(sa.select(sa.func.nextval(sequence)).select_from(series))
        return list(result.scalars())
    # a bare max(id): SQLite answers it from the end of the table's b-tree
    largest = int(await session.scalar(sa.select(sa.func.max(table.c.id))) or 0)
    return list(range(largest + 1, largest + 1 + count))


def defaults(table: sa.Table, columns: Sequence[str]) -> dict[str, Any]:
    """The values that an ORM insert would give `columns` when a row leaves them out: each
    column's own default (a callable one, such as a write time, called once here for the
    whole batch), else NULL where the column allows it. A column with neither is not in the
    result, so a row that leaves it out fails where it is built, not in the database."""
    values: dict[str, Any] = {}
    for name in columns:
        column = table.c[name]
        default = column.default
        if isinstance(default, sa.ColumnDefault) and default.is_callable:
            values[name] = default.arg(None)  # SQLAlchemy's wrapper takes a context
        elif isinstance(default, sa.ColumnDefault) and default.is_scalar:
            values[name] = default.arg
        elif column.nullable:
            values[name] = None
    return values


def _plan(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> tuple[str, _Convert]:
    key = (dialect.name, table.name, columns)
    if key not in _PLANS:
        _PLANS[key] = (_statement(dialect, table, columns), _converter(dialect, table, columns))
    return _PLANS[key]


def _statement(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> str:
    names = ", ".join(table.c[name].name for name in columns)  # KeyError on a typo
    # only the table's own names and placeholders: every value goes as a parameter
    if dialect.name == "postgresql":
        return f"COPY {table.name} ({names}) FROM STDIN"
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in columns)
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608


def _converter(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> _Convert:
    """Converts a row's times with their column type's bind processor; the rest is as given."""
    times = [
        (index, _time_processor(dialect, table.c[name].type))
        for index, name in enumerate(columns)
        if _is_time(table.c[name].type)
    ]
    if not times:
        return lambda row: row

    def convert(row: Row) -> Row:
        values = list(row)
        for index, process in times:
            values[index] = process(values[index])
        return tuple(values)

    return convert


def _is_time(type_: sa.types.TypeEngine[Any]) -> bool:
    # a TypeDecorator (`UTCDateTime`) names no Python type of its own: look at what it wraps
    impl = type_.impl_instance if isinstance(type_, sa.TypeDecorator) else type_
    return isinstance(impl, sa.DateTime)


def _time_processor(dialect: sa.Dialect, type_: sa.types.TypeEngine[Any]) -> Callable[[Any], Any]:
    # through the dialect's own implementation, as SQLAlchemy's statements do (on SQLite its
    # DATETIME, which writes the microseconds even when they are 0), or the same text made
    # at once where the type offers it
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        processor = UTCDateTime.sqlite_text
    if processor is None:
        return lambda value: value
    converted: dict[datetime, Any] = {}

    def process(value: datetime | None) -> Any:
        if value is None:
            return None
        found = converted.get(value)
        if found is None:
            if len(converted) >= _TIMES_KEPT:
                converted.clear()
            found = converted[value] = processor(value)
        return found

    return process


async def _copy(connection: AsyncConnection, statement: str, rows: Sequence[Row]) -> None:
    # psycopg's own connection, in the transaction that SQLAlchemy's session has open on it
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    try:
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)
    except psycopg.Error as error:
        # A COPY error's context quotes the failing row (users' texts): keep only the
        # primary message, raised as SQLAlchemy raises a statement's errors, so that
        # nothing upstream sees a new kind of exception and no log carries the row.
        primary = error.diag.message_primary or type(error).__name__
        cleaned = type(error)(primary)
        raise sa.exc.DBAPIError.instance(
            statement, None, cleaned, psycopg.Error, hide_parameters=True
        ) from None
