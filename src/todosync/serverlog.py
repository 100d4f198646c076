"""How our uvicorn servers log: through the process's logging pipeline (`todosync.logging`),
so that every line takes the same format (console or JSON) and the same redaction. Servers run
with uvicorn's own logging set-up and access log off.

`serving_as(name)` binds the server's name to every line written during its run. A server run
`quietly()` (the fake external API in a thread of the demo or of a test) writes warnings and
errors only: uvicorn's lifecycle lines come from one module-level logger shared by every
server of the process, so its level cannot tell them apart.

`AccessLogMiddleware` writes one line per HTTP request: the method, the path with every query
value replaced by `[redacted]` (a token may travel as `?access_token=...`), the status, the
duration and the client; the server's name comes from the context (`serving_as`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from urllib.parse import parse_qsl, quote

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todosync.logging import REDACTED

__all__ = ["AccessLogMiddleware", "quietly", "redacted_target", "serving_as"]

_log = structlog.get_logger("todosync.access")
_quiet: ContextVar[bool] = ContextVar("todosync_quiet_server", default=False)


class _QuietServerFilter(logging.Filter):
    """Drops uvicorn's records below WARNING written by a server run `quietly()`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _quiet.get()


_QUIET_FILTER = _QuietServerFilter()


class AccessLogMiddleware:
    """Logs each HTTP request of `app` once its response is sent (or the request failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0  # no response started: the client went away or the app failed

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            _log.info(
                "request",
                method=scope.get("method", "WS"),
                path=redacted_target(scope),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                client=_client(scope),
            )


def serving_as(name: str) -> AbstractContextManager[object]:
    """Binds `server=name` to every log line written inside (a server's whole run)."""
    return structlog.contextvars.bound_contextvars(server=name)


@contextmanager
def quietly() -> Iterator[None]:
    """Keeps the lifecycle lines of a server run inside (in this thread) out of the log."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    if _QUIET_FILTER not in uvicorn_log.filters:
        uvicorn_log.addFilter(_QUIET_FILTER)
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def redacted_target(scope: Scope) -> str:
    """The request's path, and its query with each value replaced by `[redacted]`."""
    path: str = scope.get("path", "")
    raw = scope.get("query_string", b"").decode("latin-1")
    if not raw:
        return path
    names = [quote(name, safe="") for name, _ in parse_qsl(raw, keep_blank_values=True)]
    return f"{path}?" + "&".join(f"{name}={REDACTED}" for name in names)


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None
