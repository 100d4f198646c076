"""Runs an ASGI app under uvicorn and says where it listens once it does.

`todosync serve` and `todosync demo` share this; later the scheduler joins the same event loop.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

__all__ = ["run"]


def run(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    on_started: Callable[[str], None] | None = None,
) -> None:
    """Serves `app` until interrupted; `on_started(base_url)` runs once the socket listens."""
    _configure_logging(log_level)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(), lifespan="on")
    _Server(config, on_started=on_started).run()


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, on_started: Callable[[str], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started(self._base_url())

    def _base_url(self) -> str:
        """The URL actually bound (port 0 picks a free port)."""
        host, port = self.config.host, self.config.port
        for listener in self.servers:
            for sock in listener.sockets:
                port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"


def _configure_logging(level: str) -> None:
    # Uvicorn configures its own loggers only; ours (todosync.*) go to stderr through the root.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
