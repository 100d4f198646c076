"""The job queue of the distributed mode: PGQueuer, in its own PostgreSQL schema.

One job per queued sync run: entrypoint `RUN_ENTRYPOINT`, payload `{"run_id": N}`, dedupe key
`run:N` (so enqueueing a run twice while its job waits or runs is a no-op), `execute_after`
the run's `run_after` (a delayed run is a delayed job).

`enqueue_runs` writes the job through the caller's SQLAlchemy session: the job row is part of
the transaction that records the run, so a run is never committed without its job and no
worker sees a job before its run. The queue's own tables live in the schema `SCHEMA`, out of
sight of Alembic (whose models cover ours only); `install_schema` creates or upgrades them
(`todosync db upgrade` calls it; a no-op on SQLite).

Choice of PGQueuer over procrastinate: see NOTES.md, "Distributed mode".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pgqueuer.adapters.drivers.psycopg import PsycopgDriver
from pgqueuer.adapters.persistence import qb
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.core.tm import TaskManager
from pgqueuer.domain.settings import DBSettings
from pgqueuer.domain.types import Channel
from pgqueuer.ports.driver import Driver, NotifyCallback
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import utc_now
from todosync.errors import TodosyncError

__all__ = [
    "CHANNEL",
    "RUN_ENTRYPOINT",
    "SCHEMA",
    "DistributedModeNeedsPostgres",
    "RunJob",
    "enqueue_runs",
    "install_schema",
    "is_postgres",
    "libpq_url",
    "make_queries",
    "parse_payload",
    "require_postgres",
]

SCHEMA = "todosync_jobs"
CHANNEL = "todosync_jobs"
RUN_ENTRYPOINT = "todosync.sync_run"

_SETTINGS = DBSettings(db_schema=SCHEMA, channel=Channel(CHANNEL))


class DistributedModeNeedsPostgres(TodosyncError):
    """The distributed mode (its job queue) needs a PostgreSQL database."""


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() in ("postgresql", "postgres")


def require_postgres(database_url: str) -> None:
    if not is_postgres(database_url):
        raise DistributedModeNeedsPostgres(
            "the distributed mode needs PostgreSQL (TODOSYNC_DATABASE_URL is not postgresql://)"
        )


def libpq_url(database_url: str) -> str:
    """The URL as libpq (psycopg's own connect) takes it: no SQLAlchemy driver suffix."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_queries(driver: Driver) -> Queries:
    """PGQueuer's queries over `driver`, for our schema and channel."""
    return Queries(
        driver,
        qbe=qb.QueryBuilderEnvironment(settings=_SETTINGS),
        qbq=qb.QueryQueueBuilder(settings=_SETTINGS),
        qbs=qb.QuerySchedulerBuilder(settings=_SETTINGS),
    )


# -- enqueue ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunJob:
    """A sync job: the id of the queued run to carry out, and when it is due (None: now)."""

    run_id: int
    run_after: datetime | None = None


def parse_payload(payload: bytes | None) -> int:
    """The run id of a sync job's payload."""
    data = json.loads(payload or b"{}")
    run_id = data.get("run_id") if isinstance(data, dict) else None
    if not isinstance(run_id, int):
        raise ValueError("a sync job without a run id")
    return run_id


async def enqueue_runs(session: AsyncSession, jobs: Sequence[RunJob]) -> None:
    """Enqueues one job per run in the session's transaction; a run whose job is already
    waiting or running is skipped (dedupe key)."""
    if not jobs:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    queries = make_queries(_TransactionDriver(raw.driver_connection))
    now = utc_now()
    await queries.enqueue(
        [RUN_ENTRYPOINT] * len(jobs),
        [json.dumps({"run_id": job.run_id}).encode() for job in jobs],
        [0] * len(jobs),
        execute_after=[_delay(job.run_after, now=now) for job in jobs],
        dedupe_key=[f"run:{job.run_id}" for job in jobs],
        on_conflict="skip",
    )


def _delay(run_after: datetime | None, *, now: datetime) -> timedelta:
    return max(timedelta(0), (run_after or now) - now)


class _TransactionDriver(Driver):
    """A PGQueuer driver over the psycopg connection of an open SQLAlchemy transaction: only
    `fetch` and `execute`, which is all that enqueueing needs."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._shutdown = asyncio.Event()
        self._tm = TaskManager()

    async def fetch(self, query: str, *args: object) -> list[dict[str, object]]:
        from psycopg import AsyncRawCursor
        from psycopg.rows import dict_row

        cursor = AsyncRawCursor(self._connection, row_factory=dict_row)
        await cursor.execute(query, args or None)
        return await cursor.fetchall()

    async def execute(self, query: str, *args: object) -> str:
        from psycopg import AsyncRawCursor

        cursor = AsyncRawCursor(self._connection)
        await cursor.execute(query, args or None)
        return cursor.statusmessage or ""

    async def add_listener(self, channel: str, callback: NotifyCallback) -> None:
        raise NotImplementedError("a transaction does not listen")

    async def notify(self, channel: str, payload: str) -> None:
        await self.execute("SELECT pg_notify($1, $2)", channel, payload)

    @property
    def shutdown(self) -> asyncio.Event:
        return self._shutdown

    @property
    def tm(self) -> TaskManager:
        return self._tm

    async def __aenter__(self) -> _TransactionDriver:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


# -- schema ----------------------------------------------------------------------------------


def install_schema(database_url: str) -> None:
    """Creates the queue's schema, or brings it up to this PGQueuer's version; idempotent, and
    a no-op for SQLite. Callable from anywhere: it runs on a thread of its own."""
    if not is_postgres(database_url):
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _install(database_url)).result()


async def _install(database_url: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True
    ) as connection:
        queries = make_queries(PsycopgDriver(connection))
        async with queries.schema_lock():
            if not await queries.schema_is_installed():
                await queries.install()
                return
        # outside the lock: `apply_upgrade` takes it itself
        await queries.apply_upgrade()
