"""Live events: what sync runs and people do, fanned out to a tenant's `/api/events` streams.

Kinds: `run.started`, `run.progress`, `run.finished`, `entity.changed`, `conflict.opened`,
`conflict.resolved`, and `resync` (sent by the bus itself when events may have been lost: a
subscriber fell behind, or the PostgreSQL listener reconnected). Payloads stay small (kind,
tenant, ids, counts, status), never names or texts: a client that needs more reads the API,
and after a `resync` or a reconnect it reads the API afresh.

Two buses with one surface (`publish`, `subscribe`, `start`, `aclose`):

- `LocalBus`: in-process fan-out, for SQLite where one process serves, runs and streams.
- `PostgresBus`: `publish` sends `NOTIFY todosync_events` (from one sender task, so one
  process's events keep their order); every process `LISTEN`s and fans out what arrives,
  its own events included, so `serve` replicas stream the runs of workers and CLI syncs.
  A process that only publishes (a CLI sync) passes `listen=False`.

`publish` never blocks and never raises: observability must not slow or fail a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

from todosync.db import engine as db_engine

__all__ = [
    "CHANNEL",
    "Event",
    "EventBus",
    "LocalBus",
    "PostgresBus",
    "Subscription",
    "conninfo",
    "create_bus",
]

log = logging.getLogger(__name__)

CHANNEL = "todosync_events"
# PostgreSQL refuses NOTIFY payloads from 8,000 bytes; stay well below.
MAX_PAYLOAD_BYTES = 7_000
SUBSCRIBER_QUEUE = 1_000
_RECONNECT_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class Event:
    """One event for one tenant; `data` is small JSON (ids, counts, status)."""

    kind: str
    tenant_id: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        text = json.dumps({"kind": self.kind, "tenant_id": self.tenant_id, "data": self.data})
        if len(text.encode()) > MAX_PAYLOAD_BYTES:
            # too big to send: tell the client to read the API instead
            return Event("resync", self.tenant_id, {"reason": "event too large"}).to_json()
        return text

    @classmethod
    def from_json(cls, text: str) -> Event | None:
        """The event, or None for a payload that is not one of ours."""
        try:
            raw = json.loads(text)
            return cls(kind=str(raw["kind"]), tenant_id=int(raw["tenant_id"]), data=raw["data"])
        except (ValueError, KeyError, TypeError):
            return None


class Subscription:
    """One stream's queue of a tenant's events; a reader that falls behind gets a `resync`."""

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        self._queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE)

    def offer(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # the reader cannot keep up: drop what waits, and say so
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(Event("resync", self.tenant_id, {"reason": "fell behind"}))

    async def get(self) -> Event:
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()


class EventBus(Protocol):
    def publish(self, event: Event) -> None: ...

    def subscribe(self, tenant_id: int) -> contextlib.AbstractContextManager[Subscription]: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class _FanOut:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def deliver(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            if subscription.tenant_id == event.tenant_id:
                subscription.offer(event)

    def deliver_resync(self, reason: str) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(Event("resync", subscription.tenant_id, {"reason": reason}))

    @contextlib.contextmanager
    def subscribe(self, tenant_id: int) -> Iterator[Subscription]:
        subscription = Subscription(tenant_id)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)


class LocalBus:
    """In-process fan-out: an event reaches this process's subscribers of its tenant."""

    def __init__(self) -> None:
        self._fanout = _FanOut()

    def publish(self, event: Event) -> None:
        self._fanout.deliver(event)

    def subscribe(self, tenant_id: int) -> contextlib.AbstractContextManager[Subscription]:
        return self._fanout.subscribe(tenant_id)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class PostgresBus:
    """Fan-out across processes through `LISTEN/NOTIFY` on `CHANNEL`."""

    def __init__(
        self, conninfo: str, *, listen: bool = True, reconnect_s: float = 1.0, drain_s: float = 5.0
    ) -> None:
        self._conninfo = conninfo
        self._listen = listen
        self._reconnect_s = reconnect_s
        self._drain_s = drain_s
        self._fanout = _FanOut()
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    def publish(self, event: Event) -> None:
        self._outbox.put_nowait(event.to_json())

    def subscribe(self, tenant_id: int) -> contextlib.AbstractContextManager[Subscription]:
        return self._fanout.subscribe(tenant_id)

    async def start(self) -> None:
        """Starts the sender (and the listener, waiting a little until it listens)."""
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._send_loop(), name="todosync-events-send"))
        if self._listen:
            task = asyncio.create_task(self._listen_loop(), name="todosync-events-listen")
            self._tasks.append(task)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), timeout=5.0)

    async def aclose(self) -> None:
        """Sends what is queued (for at most `drain_s`), then stops."""
        if not self._tasks:
            return
        sender, *others = self._tasks
        self._tasks = []
        for task in others:
            task.cancel()
        self._outbox.put_nowait(None)
        try:
            await asyncio.wait_for(sender, timeout=self._drain_s)
        except TimeoutError:
            log.warning("live events: %d unsent at shutdown", self._outbox.qsize())
        for task in others:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _connect(self, role: str) -> psycopg.AsyncConnection[Any]:
        # named, so that an operator (or a test) can tell these connections apart
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name=f"todosync-events-{role}"
        )

    async def _send_loop(self) -> None:
        connection: psycopg.AsyncConnection[Any] | None = None
        try:
            while (payload := await self._outbox.get()) is not None:
                try:
                    connection = connection or await self._connect("send")
                    await connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                except (psycopg.Error, OSError) as exc:
                    # lost: listeners' clients resync when they reconnect
                    log.warning("live events: could not notify (%s)", type(exc).__name__)
                    if connection is not None:
                        await connection.close()
                    connection = None
        finally:
            if connection is not None:
                await connection.close()

    async def _listen_loop(self) -> None:
        wait_s, lost = self._reconnect_s, False
        while True:
            try:
                async with await self._connect("listen") as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    wait_s = self._reconnect_s
                    if lost:
                        # listening again: what was sent meanwhile is gone, so every stream
                        # reads afresh now (not earlier, or it could miss events once more)
                        self._fanout.deliver_resync("listener reconnected")
                    async for notify in connection.notifies():
                        event = Event.from_json(notify.payload)
                        if event is not None:
                            self._fanout.deliver(event)
            except (psycopg.Error, OSError) as exc:
                log.warning("live events: listener lost (%s); reconnecting", type(exc).__name__)
            lost = lost or self._listening.is_set()
            self._listening.clear()
            await asyncio.sleep(wait_s)
            wait_s = min(wait_s * 2, _RECONNECT_MAX_S)  # a database that stays down: log less


def conninfo(database_url: str) -> str:
    """A libpq connection string for a PostgreSQL `TODOSYNC_DATABASE_URL`."""
    return (
        db_engine.sync_url(database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def create_bus(database_url: str, *, listen: bool = True) -> EventBus:
    """`PostgresBus` for a PostgreSQL URL, else `LocalBus`."""
    if db_engine.sync_url(database_url).get_backend_name() != "postgresql":
        return LocalBus()
    return PostgresBus(conninfo(database_url), listen=listen)
