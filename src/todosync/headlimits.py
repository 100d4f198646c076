"""Bounds on a request's head (request line and headers), which uvicorn leaves open: a client
may otherwise send a header of any size (read and kept in full) or send it as slowly as it
likes (a connection held for ever).

`bounded_protocol(...)` is uvicorn's httptools protocol with two limits, both applied before
the app sees anything:
- a head larger than `max_head_bytes` gets `431` (problem+json) and the connection closes, as
  soon as that many bytes arrived without the head being complete;
- a head not complete `head_timeout_s` after its first byte (or after the connection opened)
  gets `408` and the connection closes.
Bodies are the app's business (`api.middleware.BodyLimitMiddleware`); an idle keep-alive
connection is uvicorn's (`timeout_keep_alive`).
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["bounded_protocol"]


class _BoundedHttpToolsProtocol(HttpToolsProtocol):
    max_head_bytes: int
    head_timeout_s: float
    _reading_head = True
    _head_bytes = 0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_timer is None:
                self._arm_head_timer()
        super().data_received(data)
        # The head completing inside `data` ends the count (a body may follow in the chunk).
        if self._reading_head and self._head_bytes > self.max_head_bytes:
            self._refuse(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"The request's head exceeds {self.max_head_bytes} bytes.",
            )

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline:  # a pipelined request's head has been read already
            self._reading_head, self._head_bytes = True, 0

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._reading_head:
            self._refuse(
                HTTPStatus.REQUEST_TIMEOUT,
                f"The request's head did not arrive within {self.head_timeout_s:g} s.",
            )

    def _refuse(self, status: HTTPStatus, detail: str) -> None:
        """Answers `status` with a problem document and closes the connection."""
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        body = json.dumps(
            {
                "type": "about:blank",
                "title": status.phrase,
                "status": status.value,
                "detail": detail,
            }
        ).encode()
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()


def bounded_protocol(*, max_head_bytes: int, head_timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class with these limits (pass it as `Config(http=...)`)."""
    return type(
        "BoundedHttpToolsProtocol",
        (_BoundedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "head_timeout_s": head_timeout_s},
    )
