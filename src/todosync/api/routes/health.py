"""`/healthz`, `/readyz` and `/metrics`: no token needed, no tenant data exposed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from todosync.api import deps, problems
from todosync.observe import metrics as todosync_metrics

__all__ = ["READY_TIMEOUT_S", "router"]

READY_TIMEOUT_S = 5.0
_log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz")
async def healthz() -> Health:
    """The process is alive (says nothing about the database)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        200: {"description": "Ready to serve."},
        **problems.responses(503),
    },
)
async def readyz(request: Request, services: deps.ServicesDep) -> Any:
    """Ready when the database answers within a few seconds; otherwise 503."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await _ping(services.engine)
    except (TimeoutError, sa.exc.SQLAlchemyError, OSError) as exc:
        _log.warning("readiness check failed: database %s", type(exc).__name__)
        return problems.problem_response(
            503,
            scope=request.scope,
            detail="The database is unreachable.",
            extra={"checks": {"database": "unreachable"}},
        )
    return Readiness(status="ok", checks={"database": "ok"})


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(sa.text("SELECT 1"))


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format.", "content": {"text/plain": {}}},
        **problems.responses(503),
    },
)
async def metrics(request: Request, services: deps.ServicesDep) -> Response:
    """Prometheus metrics: this process's series and the shared state read from the database
    (aggregated over all connections; no tenant's data)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            # read-only: a scrape does not queue behind writers for SQLite's write lock
            body = await services.metrics.render(services.read_sessionmaker)
    except (TimeoutError, sa.exc.SQLAlchemyError, OSError) as exc:
        _log.warning("metrics unavailable: database %s", type(exc).__name__)
        return problems.problem_response(
            503, scope=request.scope, detail="The database is unreachable."
        )
    return Response(body, media_type=todosync_metrics.CONTENT_TYPE)
