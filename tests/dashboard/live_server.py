"""The whole app (API, dashboard, dispatcher, event bus) under a real uvicorn server in a
thread, for the browser to talk to."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

__all__ = ["LiveServer", "start"]


@dataclass
class LiveServer:
    url: str
    """Base URL, e.g. `http://127.0.0.1:43117`."""
    _server: uvicorn.Server
    _thread: threading.Thread
    _socket: socket.socket

    def stop(self, *, timeout_s: float = 15.0) -> None:
        """Stops the server (its lifespan stops the dispatcher and disposes the engine)."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the server did not stop")


def start(app: FastAPI, *, timeout_s: float = 15.0) -> LiveServer:
    """Serves `app` on a free loopback port; returns once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        lifespan="on",
        # in a thread: no global logging set-up, no event-loop policy change
        log_config=None,
        log_level="warning",
        access_log=False,
        loop="asyncio",
        # open event streams would otherwise hold the shutdown up
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="todosync-live", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    port = sock.getsockname()[1]
    return LiveServer(url=f"http://127.0.0.1:{port}", _server=server, _thread=thread, _socket=sock)
