"""The data sets and the fresh databases of a benchmark run.

Set-up goes through todosync's own code where it exists (migrations, `store.bulk`), so a
seeded database is exactly what todosync itself would have written. Nothing here is timed.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from todosync import schema
from todosync.clock import utc_now
from todosync.db import engine as db_engine
from todosync.history import record
from todosync.store import bulk
from todosync.store.models import DEFAULT_TENANT_ID, TodoItem

__all__ = ["Databases", "edit_local_items", "remote_lists", "seed_local"]

_STAMP = "2026-11-30T12:00:00.000Z"
_ITEMS = cast(sa.Table, TodoItem.__table__)


def remote_lists(*, lists: int, items_per_list: int) -> list[dict[str, Any]]:
    """A remote data set as the fake keeps it: lists with embedded items, server-side ids."""
    return [
        {
            "id": secrets.token_hex(10),
            "name": f"list {n}",
            "created_at": _STAMP,
            "updated_at": _STAMP,
            "items": [
                {
                    "id": secrets.token_hex(10),
                    "description": f"item {n}.{i}: buy milk, eggs and bread",
                    "completed": i % 3 == 0,
                    "created_at": _STAMP,
                    "updated_at": _STAMP,
                }
                for i in range(items_per_list)
            ],
        }
        for n in range(lists)
    ]


def local_lists(*, lists: int, items_per_list: int) -> list[bulk.NewList]:
    """The same shape of data set for the local side."""
    return [
        bulk.NewList(
            name=f"list {n}",
            items=[
                bulk.NewItem(
                    description=f"item {n}.{i}: buy milk, eggs and bread", completed=i % 3 == 0
                )
                for i in range(items_per_list)
            ],
        )
        for n in range(lists)
    ]


def seed_local(database_url: str, *, lists: int, items_per_list: int) -> None:
    """Fills a migrated database with lists and items of the default tenant, in one go."""

    async def seed() -> None:
        engine = db_engine.create_engine(database_url)
        try:
            async with db_engine.create_sessionmaker(engine).begin() as session:
                new = local_lists(lists=lists, items_per_list=items_per_list)
                journal = record.Journal(DEFAULT_TENANT_ID, record.API)
                await bulk.create_lists(
                    session, tenant_id=DEFAULT_TENANT_ID, lists=new, journal=journal
                )
                await record.append(session, journal.take())
        finally:
            await engine.dispose()

    asyncio.run(seed())


def edit_local_items(database_url: str, *, every: int, offset: int) -> int:
    """Edits every `every`-th live item (from `offset`, in id order) as the store would: new
    description, `version` + 1, `updated_at` now. Returns how many were edited."""

    async def edit() -> int:
        engine = db_engine.create_engine(database_url)
        try:
            async with engine.begin() as conn:
                ids = (await conn.execute(sa.select(_ITEMS.c.id).order_by(_ITEMS.c.id))).scalars()
                chosen = list(ids)[offset::every]
                await conn.execute(
                    sa.update(_ITEMS)
                    .where(_ITEMS.c.id.in_(chosen))
                    .values(
                        description=_ITEMS.c.description + " (edited locally)",
                        version=_ITEMS.c.version + 1,
                        updated_at=utc_now(),
                    )
                )
                return len(chosen)
        finally:
            await engine.dispose()

    return asyncio.run(edit())


@dataclass
class Databases:
    """Fresh, migrated databases of one kind: SQLite files in a temporary directory, or new
    databases on the PostgreSQL server of `server_url` (dropped by `close`)."""

    server_url: str | None = None
    _tmp: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="todosync-bench-")
    )
    _created: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "sqlite" if self.server_url is None else "postgresql"

    def fresh(self, label: str) -> str:
        """The URL of a new, migrated, empty database."""
        name = f"todosync_bench_{label}_{uuid.uuid4().hex[:8]}"
        if self.server_url is None:
            url = f"sqlite:///{Path(self._tmp.name) / name}.db"
        else:
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{name}"'.encode())
            self._created.append(name)
            url = make_url(self.server_url).set(database=name).render_as_string(False)
        schema.upgrade(url)
        return url

    def close(self) -> None:
        if self._created:
            with self._admin() as conn:
                for name in self._created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        self._tmp.cleanup()

    def _admin(self) -> psycopg.Connection[Any]:
        assert self.server_url is not None
        url = make_url(self.server_url).set(drivername="postgresql")
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
