"""A real server and a real `graphql-transport-ws` client (the `websockets` package) for the
subscription tests: `serve`'s app under uvicorn in a thread, on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from todosync import config
from todosync.app import create_app

__all__ = ["Subscriber", "running_server", "subscriber"]

READ_TIMEOUT_S = 30.0
PROTOCOL = "graphql-transport-ws"


@contextmanager
def running_server(settings: config.Settings) -> Iterator[str]:
    """The app served in a thread (with its dispatcher, unless `settings` say distributed);
    yields its `http://` base URL."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


class Subscriber:
    """One acknowledged `graphql-transport-ws` connection."""

    def __init__(self, socket_: ClientConnection) -> None:
        self.socket = socket_
        self._ids = 0
        # one socket carries every subscription's messages: kept here until asked for
        self._waiting: dict[str, list[dict[str, Any]]] = defaultdict(list)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Starts a subscription and waits for its `subscribed` event; returns its id."""
        self._ids += 1
        op_id = str(self._ids)
        payload = {"query": query, "variables": variables or {}}
        await self.socket.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
        first = await self.next(op_id)
        assert next(iter(first.values()))["kind"] == "subscribed", first
        return op_id

    async def next(self, op_id: str) -> dict[str, Any]:
        """The `data` of the subscription's next event (pings are answered on the way)."""
        while not self._waiting[op_id]:
            raw = await asyncio.wait_for(self.socket.recv(), timeout=READ_TIMEOUT_S)
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
            else:
                self._waiting[str(message.get("id"))].append(message)
        message = self._waiting[op_id].pop(0)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message["payload"]
        data: dict[str, Any] = message["payload"]["data"]
        return data


@asynccontextmanager
async def subscriber(base_url: str, *, token: str | None) -> AsyncIterator[Subscriber]:
    """A connection to `/graphql` that sent `connection_init` with the token and got its ack."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket_:  # type: ignore[list-item]
        payload = {} if token is None else {"Authorization": f"Bearer {token}"}
        await socket_.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(socket_.recv(), timeout=READ_TIMEOUT_S))
        assert ack["type"] == "connection_ack", ack
        yield Subscriber(socket_)
