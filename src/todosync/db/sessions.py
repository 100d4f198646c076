"""The sessions that requests run in: read-only ones for GET and HEAD, writing ones (behind a
write gate) for every other method.

On SQLite every writing transaction begins with `BEGIN IMMEDIATE` (see `db.engine`), which
makes concurrent requests queue for the one write lock. Requests that never write take their
session from `create_read_sessionmaker` instead: a deferred `BEGIN` that runs beside a writer
on WAL's snapshot. Such a session must not write, and a write in it fails loudly rather than
slipping through (on SQLite a deferred transaction would take the write lock and succeed, or
lose an update): every INSERT, UPDATE, DELETE or DDL statement raises `ReadOnlyViolation`
before it reaches the database, and on PostgreSQL the transaction is `READ ONLY` as well.

Writing requests pass a write gate first (`create_write_gate`). Requests that wait for
SQLite's write lock sleep in its busy handler, which backs off up to 100 ms a try: under load
they take turns at random and some wait for seconds. Queueing them on an `asyncio.Lock` first
serves them in order, and leaves the busy handler to waits on other processes (a CLI sync).
PostgreSQL locks rows, not the database: there the gate is always open.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from todosync.db import engine as db_engine

__all__ = ["ReadOnlyViolation", "create_read_sessionmaker", "create_write_gate"]

# First keywords of statements that write (data or schema).
_WRITES = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE"}
)


class ReadOnlyViolation(RuntimeError):
    """A statement that writes was sent in a read-only session: a bug in the caller."""


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Read-only sessions over `engine` (as `db.engine.create_read_sessionmaker`), guarded."""
    if db_engine.is_sqlite(engine):
        guarded = engine.execution_options()
    else:
        # psycopg then opens each transaction with `BEGIN READ ONLY`: no extra round trip.
        guarded = engine.execution_options(postgresql_readonly=True)
    # Listeners on this derived engine apply to it (and engines derived from it) only.
    event.listen(guarded.sync_engine, "before_cursor_execute", _refuse_writes)
    return db_engine.create_read_sessionmaker(guarded)


def create_write_gate(engine: AsyncEngine) -> AbstractAsyncContextManager[object]:
    """What a writing request holds around its transaction: a lock on SQLite, else nothing."""
    if db_engine.is_sqlite(engine):
        return asyncio.Lock()
    return contextlib.nullcontext()


def _refuse_writes(
    _connection: Any,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    compiled_write = context is not None and (
        context.isinsert or context.isupdate or context.isdelete or context.isddl
    )
    words = statement.split(None, 1)
    if compiled_write or (words and words[0].upper() in _WRITES):
        raise ReadOnlyViolation("a read-only (GET or HEAD) session tried to write")
