"""Async engines for SQLite and PostgreSQL from one plain `DATABASE_URL`.

SQLite is made safe for a server and a CLI sharing one file: WAL, a busy timeout, foreign
keys, and `BEGIN IMMEDIATE` for every transaction that may write, because the driver's
deferred BEGIN loses concurrent read-then-write updates (see LIBRARIES.md). Sessions from
`create_read_sessionmaker` only read: they take a plain deferred `BEGIN`, so that they run
beside a writer (WAL gives each a consistent snapshot) instead of queueing for its lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = [
    "async_url",
    "create_engine",
    "create_read_sessionmaker",
    "create_sessionmaker",
    "is_sqlite",
    "read_only_twin",
    "sync_url",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
# An execution option: the transaction only reads (see `create_read_sessionmaker`).
_READ_ONLY = "todosync_read_only"


def async_url(database_url: str) -> URL:
    """Maps `sqlite:///path` and `postgresql://...` onto their async drivers."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database backend {backend!r}")


def sync_url(database_url: str) -> URL:
    """The same database through a blocking driver (for tools that need one)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite")
    return url.set(drivername="postgresql+psycopg")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(database_url: str, *, hide_parameters: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with the pragmas and locking described above. Statement
    parameters (list names, item texts) stay out of database error messages unless
    `hide_parameters` is False (`TODOSYNC_DEBUG_LOG_CONTENT`): hidden by default, so that no
    entry point can forget it."""
    kwargs["hide_parameters"] = hide_parameters
    url = async_url(database_url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    engine = create_async_engine(url, **kwargs)
    _make_sqlite_safe(engine)
    return engine


def _make_sqlite_safe(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level, so that the BEGIN below is the only one issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that never writes. On SQLite they begin with a deferred `BEGIN`; a
    write in one of them fails instead of waiting, so use them for reads only."""
    return create_sessionmaker(engine.execution_options(**{_READ_ONLY: True}))


def read_only_twin(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Read-only sessions (as `create_read_sessionmaker`) on the engine and with the settings of
    `sessionmaker`, for code that is handed a sessionmaker rather than an engine."""
    settings = dict(sessionmaker.kw)
    bind: AsyncEngine = settings.pop("bind")
    return async_sessionmaker(bind.execution_options(**{_READ_ONLY: True}), **settings)
