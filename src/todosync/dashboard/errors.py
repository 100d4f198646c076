"""`DashboardRoute`: every dashboard route answers errors with a page, never a stack trace.

The page says what the API would say for the same failure (status, title, detail and the
request id of the problem document), so a failed action reads like the API's error:

    SignInRequired                    → 303 to the sign-in page (htmx: `HX-Redirect`; the page's own
                                        live refresh and event stream: 204, cookie untouched)
    CsrfRejected                      → 403
    AuthenticationFailed, Forbidden, NotFoundError, ConflictError, ValidationFailed
                                      → 401, 403, 404, 409, 422 with the error's message
    invalid path or query             → 404 (a path id that names nothing) or 422
    Starlette HTTP errors             → their own status
    an unreachable or busy database   → 503
    anything else                     → 500, logged with the request id
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import sqlalchemy.exc
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from todosync import errors
from todosync.api import problems
from todosync.dashboard import access
from todosync.dashboard.render import PREFIX, is_htmx, wants_live_part

__all__ = ["DashboardRoute"]

_log = logging.getLogger(__name__)

_DOMAIN_STATUS: tuple[tuple[type[errors.TodosyncError], int], ...] = (
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.ValidationFailed, 422),
)
_CSRF_DETAIL = (
    "This form is out of date or was not sent from this dashboard (the CSRF check failed); "
    "reload the page and try again."
)
_DATABASE_DETAIL = "The database is unreachable or busy; try again in a moment."
_BUG_DETAIL = (
    "The server failed to handle this request; the request id identifies it in the server's log."
)


class DashboardRoute(APIRoute):
    """An `APIRoute` whose handler turns failures into dashboard pages (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except access.SignInRequired as exc:
                return _to_sign_in(request, message=exc.message)
            except Exception as exc:
                return _error_page(request, exc)

        return guarded


def _to_sign_in(request: Request, *, message: str | None) -> Response:
    render = access.renderer(request)
    url = f"{PREFIX}/sign-in"
    if wants_live_part(request) or _is_event_stream(request):
        # A request the page made by itself (a live refresh, the event stream) may have left
        # before a sign-out answered: its answer must not overwrite the cookie, and the
        # message, that the sign-out just set. htmx navigates; an EventSource stops on 204.
        return Response(status_code=204, headers={"HX-Redirect": url} if is_htmx(request) else {})
    session = access.any_session(request)
    if session.is_signed_in:
        session = type(session).anonymous()  # a dead session is dropped, not kept
    if is_htmx(request):
        # htmx would swap a followed redirect into the page; this makes it navigate instead
        response = Response(status_code=204, headers={"HX-Redirect": url})
        return render.finish(response, session=session.with_flash(message), request=request)
    return render.redirect(request, url, session=session, flash=message)


def _is_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def _error_page(request: Request, exc: Exception) -> Response:
    status, detail = _classify(request, exc)
    return access.renderer(request).page(
        request,
        "error.html",
        session=access.any_session(request),
        context={
            "status": status,
            "title": problems.title_of(status),
            "detail": detail,
            "request_id": problems.request_id_of(request.scope),
        },
        status_code=status,
    )


def _classify(request: Request, exc: Exception) -> tuple[int, str]:
    """The status and the sentence that the API would answer with."""
    if isinstance(exc, access.CsrfRejected):
        return 403, _CSRF_DETAIL
    for kind, status in _DOMAIN_STATUS:
        if isinstance(exc, kind):
            return status, _sentence(str(exc))
    if isinstance(exc, RequestValidationError):
        return _invalid_input(exc.errors())
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.TimeoutError):
        return 503, _DATABASE_DETAIL
    _log.error(
        "unhandled error in %s %s, request %s",
        request.method,
        request.url.path,
        problems.request_id_of(request.scope),
        exc_info=exc,
    )
    return 500, _BUG_DETAIL


def _invalid_input(raw: Any) -> tuple[int, str]:
    if any(error.get("loc", ("",))[0] == "path" for error in raw):
        return 404, "There is nothing at this address."
    # names and messages only; the input itself is never echoed
    said = "; ".join(
        f"{'.'.join(str(p) for p in error.get('loc', ())[1:])}: {error.get('msg', 'invalid')}"
        for error in raw
    )
    return 422, _sentence(f"The request has invalid input ({said})")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return "The request failed."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."
