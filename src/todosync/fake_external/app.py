"""Assembles the fake's ASGI app: public API and control API behind the fault gate, and its
contract at `/openapi.json` with interactive docs at `/docs` (neither counted nor faulted)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from todosync import apidocs
from todosync.fake_external import api, control, gate, runtime

__all__ = ["CONTRACT_PATH", "contract", "create_app"]

CONTRACT_PATH = Path(__file__).with_name("external-api.yaml")


def create_app(rt: runtime.Runtime) -> gate.FaultGate:
    """The ASGI app over `rt`; closing the data file is left to the owner of `rt`."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        rt.loop = asyncio.get_running_loop()
        yield

    inner = Starlette(
        routes=[
            *api.PublicApi(rt).routes(),
            *control.ControlApi(rt).routes(),
            Route("/openapi.json", _contract, methods=["GET", "HEAD"]),
            *apidocs.routes(openapi_url="/openapi.json", title="Fake external Todo API"),
        ],
        exception_handlers={HTTPException: _error},
        lifespan=lifespan,
    )
    return gate.FaultGate(inner, rt=rt)


async def _contract(_: Request) -> Response:
    """The contract this fake implements, the packaged `external-api.yaml`, as JSON."""
    return api.json_response(contract())


@functools.cache
def contract() -> dict[str, Any]:
    """`external-api.yaml`, which ships with the fake, as a mapping."""
    loaded: dict[str, Any] = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    return loaded


async def _error(request: Request, exc: Exception) -> Response:
    """Errors as small JSON objects, with the headers the exception carries (Allow, ...)."""
    assert isinstance(exc, HTTPException)
    return api.json_response(
        {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
    )
