"""Rows written straight to the driver (`db.bulk_insert`) are stored exactly as SQLAlchemy
stores them, take the ids the table would have given, and fail without quoting a value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.refuse import inserts_refused
from todosync.db import bulk_insert
from todosync.store.models import DEFAULT_TENANT_ID, TodoList
from todosync.sync.books.models import SyncLog

_LISTS = cast(sa.Table, TodoList.__table__)
_COLUMNS = ("id", "uid", "tenant_id", "name", "version", "created_at", "updated_at")
SECRET_TEXT = "private-list-name-4711"


def _times() -> list[datetime]:
    """Times that a format could get wrong: no microseconds, another zone, a naive one."""
    return [
        datetime(2026, 12, 4, 11, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 12, 4, 11, 0, 0, 5),
    ]


async def test_times_are_stored_as_sqlalchemy_stores_them(session: AsyncSession) -> None:
    """Each time goes in once through SQLAlchemy and once through the driver: the database
    holds the same text for both, and the ORM reads both back as the same aware UTC time."""
    times = _times()
    ids = await bulk_insert.next_ids(session, _LISTS, len(times))
    await bulk_insert.insert(
        session,
        _LISTS,
        _COLUMNS,
        [
            (id_, f"d{id_}", DEFAULT_TENANT_ID, "driver", 1, t, t)
            for id_, t in zip(ids, times, strict=True)
        ],
    )
    core = [
        {"uid": f"c{n}", "tenant_id": DEFAULT_TENANT_ID, "name": "core", "version": 1}
        | {"created_at": t, "updated_at": t}
        for n, t in enumerate(times)
    ]
    await session.execute(sa.insert(_LISTS), core)

    stored = await session.execute(
        sa.select(_LISTS.c.name, sa.cast(_LISTS.c.created_at, sa.Text)).order_by(_LISTS.c.id)
    )
    texts: dict[str, list[str]] = {}
    for name, text in stored:
        texts.setdefault(name, []).append(text)
    assert texts["driver"] == texts["core"]
    read = await session.scalars(sa.select(TodoList).where(TodoList.id.in_(ids)))
    expected = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in times]
    assert sorted(row.created_at for row in read) == sorted(expected)
    await session.rollback()


async def test_next_ids_are_the_ones_the_table_would_assign(session: AsyncSession) -> None:
    """Ids handed out are new, and an INSERT that lets the table choose comes after them."""
    before = await session.scalar(
        sa.insert(_LISTS)
        .values(uid="first", tenant_id=DEFAULT_TENANT_ID, name="a", version=1)
        .returning(_LISTS.c.id)
    )
    ids = await bulk_insert.next_ids(session, _LISTS, 3)
    now = datetime.now(UTC)
    rows = [(id_, f"u{id_}", DEFAULT_TENANT_ID, "b", 1, now, now) for id_ in ids]
    await bulk_insert.insert(session, _LISTS, _COLUMNS, rows)
    after = await session.scalar(
        sa.insert(_LISTS)
        .values(uid="last", tenant_id=DEFAULT_TENANT_ID, name="c", version=1)
        .returning(_LISTS.c.id)
    )

    assert before is not None
    assert after is not None
    assert len(set(ids)) == 3
    assert before < min(ids)
    assert max(ids) < after
    await session.rollback()


@pytest.fixture
def lists_refused(blocking_engine: sa.Engine, is_postgres: bool) -> Iterator[None]:
    """Every insert into `todo_lists` fails in the database until the test ends."""
    with inserts_refused(blocking_engine, table="todo_lists", is_postgres=is_postgres):
        yield


@pytest.mark.usefixtures("lists_refused")
async def test_a_failed_insert_names_no_value(session: AsyncSession) -> None:
    """A refused bulk insert raises SQLAlchemy's error with the database's reason, and
    neither it nor anything chained to it quotes the row (PostgreSQL's COPY would)."""
    now = datetime.now(UTC)
    row = (10_000, "uid", DEFAULT_TENANT_ID, SECRET_TEXT, 1, now, now)

    with pytest.raises(sa.exc.DBAPIError) as raised:
        await bulk_insert.insert(session, _LISTS, _COLUMNS, [row])

    error = raised.value
    assert "refused by a test trigger" in str(error)
    shown = [str(error), repr(error), str(error.orig), repr(error.orig)]
    if not error.__suppress_context__:
        shown.append(repr(error.__context__))
    assert not any(SECRET_TEXT in text for text in shown)
    await session.rollback()


def test_defaults_are_the_columns_own() -> None:
    """What a row may leave out comes from the table: a callable default called once, a
    scalar one as given, NULL where allowed; a required column without one is not offered."""
    table = cast(sa.Table, SyncLog.__table__)
    before = datetime.now(UTC)
    values = bulk_insert.defaults(table, ("at", "fields", "outcome", "reason", "local_id", "kind"))
    assert before <= values.pop("at") <= datetime.now(UTC)
    assert values == {"fields": [], "outcome": "ok", "reason": None, "local_id": None}
