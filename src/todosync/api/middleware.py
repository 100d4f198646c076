"""Pure ASGI middleware: a request id on every request, a body-size limit, the last-resort
500 that logs the error server-side and answers with a problem document carrying the id, and
the headers that keep browsers and caches from reinterpreting or keeping responses."""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todosync.api import problems

__all__ = [
    "MAX_BODY_BYTES",
    "REQUEST_ID_HEADER",
    "BodyLimitMiddleware",
    "NoSniffNoStoreMiddleware",
    "RequestContextMiddleware",
]

MAX_BODY_BYTES = 1024 * 1024
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's (or proxy's) request id is kept when it is short and plain; otherwise a new one.
_CALLER_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_log = logging.getLogger(__name__)


class RequestContextMiddleware:
    """Gives each request an id (`scope["state"]["request_id"]`, echoed in `X-Request-ID`)
    and turns any exception that nothing else handled into a logged 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _log.exception(
                "unhandled error in %s %s, request %s", scope["method"], scope["path"], request_id
            )
            if started:
                raise  # the response is half sent: only closing the connection is left
            response = problems.problem_response(
                500,
                scope=scope,
                detail="The server failed to handle this request; "
                "the request id identifies it in the server's log.",
            )
            await response(scope, receive, send_with_id)


def _request_id(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER)
    if given and _CALLER_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class _BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, detail=f"The request body exceeds {MAX_BODY_BYTES} bytes.")


class BodyLimitMiddleware:
    """Refuses bodies above `max_bytes` with 413: at once when `Content-Length` says so, and
    while reading when a streamed (chunked) body grows past it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problems.problem_response(413, scope=scope, detail=_BodyTooLarge().detail)
            await response(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTP errors from reading the body; the handler renders it.
                    raise _BodyTooLarge()
            return message

        await self.app(scope, receive_limited, send)


class NoSniffNoStoreMiddleware:
    """`X-Content-Type-Options: nosniff` on every response, and `Cache-Control: no-store` on
    every one that sets no cache policy of its own, except static files (the dashboard's,
    versioned, and the API docs' assets): responses carry tenant data, never worth a cached
    copy."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cacheable_prefixes: tuple[str, ...] = ("/dashboard/static/", "/docs/assets/"),
    ) -> None:
        self.app = app
        self.cacheable_prefixes = cacheable_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(self.cacheable_prefixes)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if not cacheable and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
