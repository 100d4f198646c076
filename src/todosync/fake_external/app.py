"""Assembles the fake's ASGI app: public API and control API behind the fault gate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from todosync.fake_external import api, control, gate, runtime

__all__ = ["create_app"]


def create_app(rt: runtime.Runtime) -> gate.FaultGate:
    """The ASGI app over `rt`; closing the data file is left to the owner of `rt`."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        rt.loop = asyncio.get_running_loop()
        yield

    inner = Starlette(
        routes=[*api.PublicApi(rt).routes(), *control.ControlApi(rt).routes()],
        exception_handlers={HTTPException: _error},
        lifespan=lifespan,
    )
    return gate.FaultGate(inner, rt=rt)


async def _error(request: Request, exc: Exception) -> Response:
    """Errors as small JSON objects, with the headers the exception carries (Allow, ...)."""
    assert isinstance(exc, HTTPException)
    return api.json_response(
        {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
    )
