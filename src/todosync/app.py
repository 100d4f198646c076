"""`create_app(settings)`: the FastAPI application of the local API, over the process's
`runtime.Services` (the composition root), which its lifespan starts and stops.
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

from todosync import apidocs, dashboard, runtime
from todosync.api import middleware, problems
from todosync.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from todosync.api.routes import admin, health, items, lists, sync, versions
from todosync.api.routes import events as events_routes
from todosync.config import Settings
from todosync.graphql import router as graphql_router

__all__ = ["create_app"]

_DESCRIPTION = f"""\
Todo lists and items of one tenant, kept in two-way sync with an external Todo API.

Every `/api` route needs `Authorization: Bearer <token>` (`todosync tokens create`). A
tenant's token reads and writes its tenant's data only; an admin token (`tokens create
--admin`) reads `/api/admin` only, and gets 403 everywhere else.
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
    services = runtime.build(settings, engine=engine, dispatcher=dispatcher, scheduler=scheduler)
    app = FastAPI(
        title="todosync",
        version=_version(),
        description=_DESCRIPTION,
        lifespan=_lifespan(services),
        generate_unique_id_function=lambda route: route.name,
        docs_url=None,  # served offline below (`apidocs`)
        redoc_url=None,
        middleware=[
            Middleware(middleware.NoSniffNoStoreMiddleware),
            Middleware(middleware.RequestContextMiddleware),
            Middleware(middleware.BodyLimitMiddleware),
        ],
    )
    app.state.services = services  # routes reach it through `api.deps.ServicesDep`
    problems.install(app)
    routers = (
        health.router,
        lists.router,
        items.router,
        versions.router,
        sync.router,
        events_routes.router,
        admin.router,
    )
    for router in routers:
        app.include_router(router)
    app.state.route_methods = problems.route_methods(routers)
    app.include_router(graphql_router.create(settings))  # /graphql over the same services
    app.router.routes.extend(apidocs.routes(openapi_url="/openapi.json", title="todosync"))
    dashboard.install(app, settings)  # /dashboard: pages over the same services
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _lifespan(services: runtime.Services) -> Any:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await services.start()
            yield
        finally:
            await services.stop()

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
