"""`create_app(settings)`: the FastAPI application of the local API.

The app gets its database engine from the caller (tests, a process that shares one) or makes
its own from the settings; an engine it made is disposed by its lifespan, because aiosqlite
hangs the process at exit otherwise.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware

from todosync import alerts, apidocs, dashboard, events, metrics, observers
from todosync.api import middleware, problems, sessions
from todosync.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from todosync.api.routes import events as events_routes
from todosync.api.routes import health, items, lists, sync
from todosync.auth import cache as token_cache
from todosync.auth import throttle
from todosync.config import RunMode, Settings
from todosync.db import engine as db_engine
from todosync.jobs import queue
from todosync.jobs.dispatcher import Dispatcher
from todosync.jobs.scheduler import Scheduler

__all__ = ["create_app"]

_DESCRIPTION = f"""\
Todo lists and items of one tenant, kept in two-way sync with an external Todo API.

Every `/api` route needs `Authorization: Bearer <token>` (`todosync tokens create`).
Collections page with `?limit=` (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}) and `?cursor=`
(the previous page's `next_cursor`). Errors are `application/problem+json` (RFC 9457).
"""


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    dispatcher: bool = True,
    scheduler: bool = False,
) -> FastAPI:
    """The API over `engine`, or over a new engine for `settings.database_url`.

    With `dispatcher`, the lifespan runs a `jobs.dispatcher.Dispatcher` that carries out the
    runs queued by `POST /api/sync`; without it they wait for another process. With
    `scheduler` (`serve` and `demo`), it also runs the periodic `jobs.scheduler.Scheduler`.
    A live API token is remembered for `settings.token_cache_seconds` after it was looked up
    (0: looked up on every request), so a revoked token stops working within that time.
    """
    if settings.run_mode is RunMode.DISTRIBUTED:
        # Runs are jobs for `todosync worker` processes: POST /api/sync enqueues them, and
        # neither the dispatcher nor the scheduler runs here (the workers' tick schedules).
        queue.require_postgres(settings.database_url)
        dispatcher = scheduler = False
    owned = engine is None
    if engine is None:
        # Parameters (list names, item texts) stay out of error messages unless asked for.
        engine = db_engine.create_engine(
            settings.database_url, hide_parameters=not settings.debug_log_content
        )
    app = FastAPI(
        title="todosync",
        version=_version(),
        description=_DESCRIPTION,
        lifespan=_lifespan(engine, owned=owned),
        generate_unique_id_function=lambda route: route.name,
        docs_url=None,  # served offline below (`apidocs`)
        redoc_url=None,
        middleware=[
            Middleware(middleware.NoSniffNoStoreMiddleware),
            Middleware(middleware.RequestContextMiddleware),
            Middleware(middleware.BodyLimitMiddleware),
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = db_engine.create_sessionmaker(engine)
    # GET and HEAD requests run in these (see `api.deps`).
    app.state.read_sessionmaker = sessions.create_read_sessionmaker(engine)
    app.state.write_gate = sessions.create_write_gate(engine)  # other requests pass it
    app.state.token_cache = token_cache.TokenCache(ttl_s=settings.token_cache_seconds)
    app.state.auth_throttle = throttle.FailureThrottle(
        burst=settings.auth_failure_burst, window_s=settings.auth_failure_window_seconds
    )
    app.state.enqueue_jobs = settings.run_mode is RunMode.DISTRIBUTED
    _observability(app, settings)
    app.state.dispatcher = (
        Dispatcher(
            sessionmaker=app.state.sessionmaker,
            settings=settings,
            observer=app.state.observer,
            on_request=app.state.metrics.observe_request,
        )
        if dispatcher
        else None
    )
    app.state.scheduler = (
        Scheduler(
            sessionmaker=app.state.sessionmaker,
            settings=settings,
            on_queued=app.state.dispatcher.wake if app.state.dispatcher else None,
        )
        if scheduler
        else None
    )
    problems.install(app)
    routers = (health.router, lists.router, items.router, sync.router, events_routes.router)
    for router in routers:
        app.include_router(router)
    app.state.route_methods = problems.route_methods(routers)
    app.router.routes.extend(apidocs.routes(openapi_url="/openapi.json", title="todosync"))
    dashboard.install(app, settings)  # /dashboard: pages over the same services
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _observability(app: FastAPI, settings: Settings) -> None:
    """The app's metrics (its own registry), live-event bus, alert webhook and the run
    observer that feeds them."""
    app.state.metrics = metrics.Metrics()
    app.state.metrics.track_circuit(
        lambda: "closed" if app.state.dispatcher is None else app.state.dispatcher.circuit_state
    )
    app.state.events = events.create_bus(settings.database_url)
    app.state.notifier = alerts.from_settings(settings, sessionmaker=app.state.sessionmaker)
    app.state.observer = observers.Observers(
        bus=app.state.events,
        metrics=app.state.metrics,
        notifier=app.state.notifier,
        sessionmaker=app.state.sessionmaker,
    )


def _lifespan(engine: AsyncEngine, *, owned: bool) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dispatcher: Dispatcher | None = app.state.dispatcher
        scheduler: Scheduler | None = app.state.scheduler
        try:
            await app.state.events.start()
            if dispatcher is not None:
                await dispatcher.start()
            if scheduler is not None:
                await scheduler.start()
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            await app.state.events.aclose()
            if app.state.notifier is not None:
                await app.state.notifier.aclose()
            if owned:
                await engine.dispose()

    return lifespan


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the `Problem` schema that the error responses refer to."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        _drop_unused(schemas, document, names=("HTTPValidationError", "ValidationError"))
        app.openapi_schema = document
    return app.openapi_schema


def _drop_unused(schemas: dict[str, Any], document: Any, *, names: tuple[str, ...]) -> None:
    """Removes FastAPI's default validation-error schemas: our 422s are problem documents."""
    for name in names:
        if f'"#/components/schemas/{name}"' not in json.dumps(document):
            schemas.pop(name, None)


def _version() -> str:
    try:
        return metadata.version("todosync")
    except metadata.PackageNotFoundError:
        return "0"
