"""Every error response is an RFC 9457 problem document (`application/problem+json`).

A problem carries `type` (always `about:blank`: the status says it all), `title` (the status
phrase), `status`, `detail` (a sentence for people), `instance` (the request path) and
`request_id` (also in the `X-Request-ID` header); a 422 adds `errors`, one per invalid input
(`loc`, `msg`, `type`). Nothing else: no stack trace, no SQL, no echo of the input.

Mapping: Starlette HTTP errors keep their status (404 unknown path, 405 with `Allow`, 413...);
request validation → 422, except an invalid id in the path, which names no resource → 404;
`AuthenticationFailed` → 401, `Forbidden` → 403, `NotFoundError` → 404, `ConflictError` → 409,
`ValidationFailed` → 422; an unreachable or busy database → 503; anything else → 500 (logged
with the request id by `middleware.RequestContextMiddleware`).
"""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy.exc
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from todosync import errors
from todosync.store.repository import MAX_ID

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "Problem",
    "ProblemResponse",
    "install",
    "problem_response",
    "request_id_of",
    "responses",
    "route_methods",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger(__name__)

# RFC 9110 names; Python 3.11's `http.HTTPStatus` still has the older ones for these two.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}

_DOMAIN_STATUS: tuple[tuple[type[errors.TodosyncError], int], ...] = (
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.Throttled, 429),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.ValidationFailed, 422),
)


class FieldError(BaseModel):
    """One invalid input: where (`["body", "name"]`, `["query", "limit"]`), what, and a code."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def title_of(status: int) -> str:
    return _TITLES.get(status) or http.HTTPStatus(status).phrase


def request_id_of(scope: Mapping[str, Any]) -> str | None:
    """The id that `RequestContextMiddleware` gave this request."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def problem_response(
    status: int,
    *,
    scope: Mapping[str, Any],
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    """A problem document for this request (`scope`), with its path and request id."""
    body: dict[str, Any] = {"type": "about:blank", "title": title_of(status), "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = scope.get("path")
    body["request_id"] = request_id_of(scope)
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents an operation can answer with."""
    return {
        status: {
            "description": title_of(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI's answer to a body it could not decode at all (not UTF-8, nested too deep):
        # the same kind of error as malformed JSON, so the same status.
        return _unparsable_body(request)
    detail = exc.detail if exc.detail != title_of(exc.status_code) else None
    if exc.status_code == 404 and detail in (None, "Not Found"):
        detail = "There is nothing at this path."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        detail = f"This path allows {headers['Allow']}."
    return problem_response(exc.status_code, scope=request.scope, detail=detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method of every route on this path (Starlette names only the first route's)."""
    path = request.scope.get("path", "")
    route_methods: Sequence[tuple[re.Pattern[str], frozenset[str]]] = getattr(
        request.app.state, "route_methods", ()
    )
    methods = {m for regex, found in route_methods if regex.fullmatch(path) for m in found}
    return ", ".join(sorted(methods))


def route_methods(routers: Iterable[APIRouter]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """The path pattern and methods of every route, for the `Allow` header of a 405."""
    return [
        (route.path_regex, frozenset(route.methods or ()))
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(error.get("loc", ("",))[0] == "path" for error in raw):
        return problem_response(404, scope=request.scope, detail=_bad_path_detail(raw))
    field_errors = [_field_error(error) for error in raw]
    return problem_response(
        422,
        scope=request.scope,
        detail="The request has invalid input; see `errors`.",
        extra={"errors": field_errors},
    )


def _unparsable_body(request: Request) -> Response:
    error = {"loc": ["body"], "msg": "The body is not valid UTF-8 JSON.", "type": "json_invalid"}
    return problem_response(
        422,
        scope=request.scope,
        detail="The request has invalid input; see `errors`.",
        extra={"errors": [error]},
    )


def _bad_path_detail(raw: Sequence[Mapping[str, Any]]) -> str:
    names = sorted({str(error["loc"][-1]) for error in raw if error["loc"][0] == "path"})
    return f"No such resource: {' and '.join(names)} must be an integer from 1 to {MAX_ID}."


def _field_error(error: Mapping[str, Any]) -> dict[str, Any]:
    """Location, message and code of one pydantic error; never its input, which may be huge."""
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        message = f"The body is not valid JSON ({reason})." if reason else "Invalid JSON."
    return {"loc": loc, "msg": message, "type": str(error.get("type", "invalid"))}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.TodosyncError)
    status = next((code for cls, code in _DOMAIN_STATUS if isinstance(exc, cls)), None)
    if status is None:
        raise exc  # not meant for clients: the middleware logs it and answers a bare 500
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, errors.Throttled):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return problem_response(status, scope=request.scope, detail=str(exc), headers=headers)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # The message may hold SQL and parameters: the log gets the class name and request id only.
    _log.warning(
        "database unavailable (%s), request %s", type(exc).__name__, request_id_of(request.scope)
    )
    return problem_response(
        503,
        scope=request.scope,
        detail="The database is unavailable or busy; try again shortly.",
        headers={"Retry-After": "1"},
    )


def install(app: FastAPI) -> None:
    """Registers the handlers above on `app`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(errors.TodosyncError, _domain_error)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_unavailable)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _database_unavailable)
