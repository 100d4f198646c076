"""The composition root of `serve` (and `demo`): every long-lived part of the API process,
built once from the settings into one typed, frozen `Services`.

    services = runtime.build(settings, scheduler=True)   # create_app does this
    services_of(app).dispatcher                          # what routes reach through one dependency

Decided here, once: the database engine (statement parameters hidden in error messages unless
`TODOSYNC_DEBUG_LOG_CONTENT`), the session makers (read-only ones for GET and HEAD, a write
gate for the others), the token cache and the failed-token throttle, the metrics, the
live-event bus, the alert notifier and the run observer that feeds them, and who carries
runs out: an in-process dispatcher (and scheduler), or, in the distributed mode, jobs for
`todosync worker` processes (`enqueue_jobs`), and the external clients, one per connection
(`tenancy.clients`).

A process that runs syncs without serving (`todosync sync` and `verify`, `todosync worker`)
gets its parts from `sync_process(settings)` instead: the engine (decided the same way), the
external clients and the run observer, all closed on exit.

Life cycle: `start()` and `stop()`, called by the app's lifespan. An engine handed in by the
caller (tests, a process that shares one) is the caller's to dispose; one built here is
disposed by `stop()` (aiosqlite hangs the process at exit otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from todosync.auth.cache import TokenCache
from todosync.auth.principal import Principal
from todosync.auth.throttle import FailureThrottle
from todosync.config import RunMode, Settings
from todosync.db import engine as db_engine
from todosync.db import sessions
from todosync.jobs import queue
from todosync.jobs.dispatcher import Dispatcher
from todosync.jobs.scheduler import Scheduler
from todosync.observe import alerts, events, metrics, observers
from todosync.tenancy.clients import ConnectionClients

T = TypeVar("T")

__all__ = ["Services", "SyncParts", "build", "in_transaction", "services_of", "sync_process"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """The parts of one API process (see the module docstring)."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    write_gate: AbstractAsyncContextManager[object]
    token_cache: TokenCache[Principal]
    auth_throttle: FailureThrottle
    metrics: metrics.Metrics
    events: events.EventBus
    notifier: alerts.Notifier | None
    observer: observers.Observers
    clients: ConnectionClients
    dispatcher: Dispatcher | None
    scheduler: Scheduler | None
    enqueue_jobs: bool
    """Runs are jobs for `todosync worker` processes (the distributed mode)."""
    owns_engine: bool

    def circuit_of(self, connection_id: int) -> str:
        """The connection's circuit breaker in this process ("closed" when it runs no syncs)."""
        return self.clients.circuit_state(connection_id)

    def request_stop(self) -> None:
        """Asks the run in progress to stop between two actions (from a signal handler: it
        only sets a flag)."""
        if self.dispatcher is not None:
            self.dispatcher.request_stop()

    async def start(self) -> None:
        await self.events.start()
        if self.dispatcher is not None:
            await self.dispatcher.start()
        if self.scheduler is not None:
            await self.scheduler.start()

    async def stop(self) -> None:
        """Stops what `start` started, newest first; disposes an engine built here."""
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.events.aclose()
        await self.clients.aclose()
        if self.notifier is not None:
            await self.notifier.aclose()
        if self.owns_engine:
            await self.engine.dispose()


def build(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    dispatcher: bool = True,
    scheduler: bool = False,
) -> Services:
    """The services of an API process over `engine` (or a new one for the settings). With
    `dispatcher` it carries out queued runs itself, with `scheduler` it also queues the
    periodic ones; in the distributed mode it does neither (the workers do)."""
    distributed = settings.run_mode is RunMode.DISTRIBUTED
    if distributed:
        queue.require_postgres(settings.database_url)
        dispatcher = scheduler = False
    owns_engine = engine is None
    if engine is None:
        engine = _engine(settings)
    sessionmaker = db_engine.create_sessionmaker(engine)
    found_metrics = metrics.Metrics(labelled_connections=settings.metrics_max_connections)
    bus = events.create_bus(settings.database_url)
    notifier = alerts.from_settings(settings, sessionmaker=sessionmaker)
    observer = observers.Observers(
        bus=bus, metrics=found_metrics, notifier=notifier, sessionmaker=sessionmaker
    )
    clients = ConnectionClients(
        settings=settings, sessionmaker=sessionmaker, on_request=found_metrics.observe_request
    )
    runs = (
        Dispatcher(sessionmaker=sessionmaker, settings=settings, clients=clients, observer=observer)
        if dispatcher
        else None
    )
    found_metrics.track_circuits(clients.open_circuits)
    return Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        read_sessionmaker=sessions.create_read_sessionmaker(engine),
        write_gate=sessions.create_write_gate(engine),
        token_cache=TokenCache[Principal](ttl_s=settings.token_cache_seconds),
        auth_throttle=FailureThrottle(
            burst=settings.auth_failure_burst, window_s=settings.auth_failure_window_seconds
        ),
        metrics=found_metrics,
        events=bus,
        notifier=notifier,
        observer=observer,
        clients=clients,
        dispatcher=runs,
        scheduler=(
            Scheduler(
                sessionmaker=sessionmaker,
                settings=settings,
                on_queued=runs.wake if runs is not None else None,
            )
            if scheduler
            else None
        ),
        enqueue_jobs=distributed,
        owns_engine=owns_engine,
    )


def services_of(app: Any) -> Services:
    """The services of an app made by `todosync.app.create_app`."""
    found: Services = app.state.services
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncParts:
    """What a process that runs syncs without serving is made of (see `sync_process`)."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clients: ConnectionClients
    observer: observers.Observers


@asynccontextmanager
async def sync_process(settings: Settings) -> AsyncIterator[SyncParts]:
    """The database engine, the external clients and the run observer (live events through
    NOTIFY on PostgreSQL, the alert webhook) of a CLI sync or a worker; closed on exit."""
    engine = _engine(settings)
    sessionmaker = db_engine.create_sessionmaker(engine)
    clients = ConnectionClients(settings=settings, sessionmaker=sessionmaker)
    try:
        async with observers.for_process(settings, sessionmaker=sessionmaker) as observer:
            yield SyncParts(
                settings=settings, sessionmaker=sessionmaker, clients=clients, observer=observer
            )
    finally:
        await clients.aclose()
        await engine.dispose()


async def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs `work` in one transaction on a short-lived engine (a one-off CLI command):
    committed if it returns, rolled back if it raises; the engine is disposed either way."""
    engine = _engine(settings)
    try:
        async with db_engine.create_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def _engine(settings: Settings) -> AsyncEngine:
    """The one place where a process's database engine is made: statement parameters (list
    names, item texts) stay out of error messages unless TODOSYNC_DEBUG_LOG_CONTENT."""
    return db_engine.create_engine(
        settings.database_url, hide_parameters=not settings.debug_log_content
    )
