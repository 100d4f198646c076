"""Runs the fake under uvicorn: in the foreground (the CLI) or in a thread (tests, the demo)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import uvicorn

from todosync import server as app_server
from todosync import serverlog
from todosync.fake_external import app, config, runtime, sample

__all__ = ["RunningServer", "serve", "start_in_thread"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunningServer:
    """A server running in a background thread of this process."""

    url: str
    """Base URL, e.g. `http://127.0.0.1:8100` (no trailing slash)."""
    runtime: runtime.Runtime
    _server: uvicorn.Server
    _thread: threading.Thread
    _socket: socket.socket

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Releases held requests, stops the server and closes its state file."""
        loop = self.runtime.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.runtime.release_held)
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._socket.close()
        self.runtime.close()


def start_in_thread(
    server_config: config.ServerConfig, *, timeout_s: float = 10.0
) -> RunningServer:
    """Starts a server and returns once it accepts connections; port 0 picks a free port."""
    rt = _runtime(server_config)
    sock = app_server.bind(server_config.host, server_config.port)
    server = uvicorn.Server(_uvicorn_config(rt, server_config, quiet=True))
    thread = threading.Thread(
        target=_run_quietly, args=(server, sock), name="fake-external", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            rt.close()
            raise RuntimeError("the fake external API did not start")
        time.sleep(0.01)
    host, port = sock.getsockname()[:2]
    return RunningServer(
        url=f"http://{_url_host(host)}:{port}",
        runtime=rt,
        _server=server,
        _thread=thread,
        _socket=sock,
    )


def _run_quietly(server: uvicorn.Server, sock: socket.socket) -> None:
    with serverlog.serving_as("fake-external"), serverlog.quietly():
        server.run(sockets=[sock])


def serve(server_config: config.ServerConfig) -> None:
    """Runs a server in the foreground until interrupted."""
    sock = app_server.bind(server_config.host, server_config.port)
    rt = _runtime(server_config)
    try:
        with serverlog.serving_as("fake-external"):
            uvicorn.Server(_uvicorn_config(rt, server_config, quiet=False)).run(sockets=[sock])
    finally:
        rt.close()


def _runtime(server_config: config.ServerConfig) -> runtime.Runtime:
    rt = runtime.Runtime(server_config)
    if server_config.seed_sample:
        sample.seed(rt.store, now=rt.timestamp())
    return rt


def _uvicorn_config(
    rt: runtime.Runtime, server_config: config.ServerConfig, *, quiet: bool
) -> uvicorn.Config:
    asgi = app.create_app(rt)
    return uvicorn.Config(
        # In the foreground, one line per request through the process's logging pipeline.
        asgi if quiet else serverlog.AccessLogMiddleware(asgi),
        host=server_config.host,
        port=server_config.port,
        date_header=False,  # the gate sends its own, with the clock offset
        server_header=False,
        lifespan="on",
        # Logging is the caller's (the CLI sets up `todosync.logging`); uvicorn's is off.
        log_config=None,
        log_level="warning" if quiet else "info",
        access_log=False,
        # In a thread: no event-loop policy change (uvloop).
        loop="asyncio" if quiet else "auto",
        timeout_graceful_shutdown=3,
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
