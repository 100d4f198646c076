"""The ASGI layer in front of the fake: request log, fault injection and the `Date` header.

It wraps the whole app, so it sees the server's own `send`. To answer nothing at all (a dropped
connection) it closes the socket through the transport behind that `send`: a client then sees
"server disconnected without a response" (httpx: `RemoteProtocolError`). For the "applied then"
faults it runs the API with a buffering `send`, then throws the buffered answer away.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any

import msgspec

from todosync.fake_external import faults, requestlog, runtime

__all__ = ["UNTRACKED_HEADER", "FaultGate"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

UNTRACKED_HEADER = "x-fake-untracked"
"""A public request with this header (any value) is neither logged nor faulted: test set-up."""

CONTROL_PREFIX = "/__control/"
# the control API, and the contract with its docs: never counted, delayed or failed
_UNTRACKED_PATHS = (CONTROL_PREFIX, "/openapi.json", "/docs")


class FaultGate:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: App, *, rt: runtime.Runtime) -> None:
        self._app = app
        self._rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
        elif scope["path"].startswith(_UNTRACKED_PATHS) or _is_untracked(scope):
            await self._app(scope, receive, self._dated(send))
        else:
            await self._tracked(scope, receive, send)

    async def _tracked(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.monotonic()
        record = self._rt.log.start(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            started_at=self._rt.real_timestamp(),
        )
        try:
            await self._faulted(scope, receive, send, record)
        finally:
            requestlog.RequestLog.finish(record, started=started)

    async def _faulted(
        self, scope: Scope, receive: Receive, send: Send, record: requestlog.RequestRecord
    ) -> None:
        decision = self._rt.faults.decide(method=scope["method"], path=scope["path"])
        record.fault = decision.label
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        rule = decision.outcome
        if rule is None or rule.kind in faults.APPLIED_KINDS:
            await self._apply(scope, receive, send, record, rule)
        elif rule.kind in ("error", "rate_limit"):
            await self._refuse(send, record, rule)
        else:  # timeout, drop
            if rule.kind == "timeout":
                await self._hold(receive, hang_s=rule.hang_s)
            await _drop(receive, send)

    async def _apply(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: requestlog.RequestRecord,
        rule: faults.FaultRule | None,
    ) -> None:
        """Runs the API, then sends its answer or, for an "applied then" rule, fails instead."""
        answer = _Buffer()
        await self._app(scope, receive, answer.send)
        record.applied = answer.status is not None and answer.status < 400
        kind = rule.kind if rule is not None else None
        if rule is not None and kind == "applied_then_500":
            await self._refuse(send, record, rule)
            return
        if rule is not None and kind in ("applied_then_hang", "applied_then_pause"):
            await self._hold(receive, hang_s=rule.hang_s)
        if kind in ("applied_then_hang", "applied_then_drop"):
            await _drop(receive, send)
            return
        record.status = answer.status  # no fault, or a pause that has ended
        await answer.replay(self._dated(send))

    async def _refuse(
        self, send: Send, record: requestlog.RequestRecord, rule: faults.FaultRule
    ) -> None:
        """Answers an injected error or 429 (with Retry-After) instead of the real answer."""
        body = msgspec.json.encode({"detail": f"injected fault: {rule.kind}"})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        status = rule.status
        if rule.kind == "rate_limit":
            status = 429
            headers.append((b"retry-after", self._retry_after(rule).encode("latin-1")))
        record.status = status
        dated = self._dated(send)
        await dated({"type": "http.response.start", "status": status, "headers": headers})
        await dated({"type": "http.response.body", "body": body})

    def _retry_after(self, rule: faults.FaultRule) -> str:
        if rule.retry_after_form == "seconds":
            return str(rule.retry_after_s)
        moment = self._rt.now() + timedelta(seconds=rule.retry_after_s)
        return email.utils.format_datetime(moment, usegmt=True)

    async def _hold(self, receive: Receive, *, hang_s: float | None) -> None:
        """Waits until released, `hang_s` passed, or the client went away."""
        waits = [
            asyncio.ensure_future(self._rt.release_event().wait()),
            asyncio.ensure_future(_disconnected(receive)),
        ]
        self._rt.held += 1
        try:
            await asyncio.wait(waits, timeout=hang_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._rt.held -= 1
            for wait in waits:
                wait.cancel()

    def _dated(self, send: Send) -> Send:
        """`send` that adds a `Date` header from the server's (offset) clock."""

        async def dated_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = email.utils.format_datetime(self._rt.now(), usegmt=True)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message["headers"] = [*headers, (b"date", date.encode("latin-1"))]
            await send(message)

        return dated_send


class _Buffer:
    """A `send` that keeps the messages, to be sent later or thrown away."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    @property
    def status(self) -> int | None:
        return next((m["status"] for m in self.messages if "status" in m), None)

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    async def replay(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drop(receive: Receive, send: Send) -> None:
    """Closes the connection without a response."""
    # Under uvicorn `send` is a bound method of the request cycle, which holds the transport.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected fault: drop (no transport to close)")
    transport.close()
    # Wait until the server has seen the close, so it does not answer 500 for us.
    await _disconnected(receive)


def _is_untracked(scope: Scope) -> bool:
    return any(name == UNTRACKED_HEADER.encode() for name, _ in scope.get("headers", []))
