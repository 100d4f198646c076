"""Runs an ASGI app under uvicorn and says where it listens once it does.

Every line goes through the process's logging pipeline (`todosync.logging`): uvicorn's own
logging set-up and access log are off, and `accesslog` writes one line per request instead.

`todosync serve` and `todosync demo` share this; the dispatcher and the scheduler run in the
same event loop, started and stopped by the app's lifespan.

On SIGTERM or SIGINT, `on_signal` runs at once, inside the signal handler (so it must only set
a flag: the dispatcher's `request_stop`); uvicorn then stops accepting requests, waits up to
`_CONNECTIONS_GRACE_S` for open ones, and runs the lifespan's shutdown, where the dispatcher
waits for the run in progress to stop between two actions.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from todosync import headlimits, serverlog
from todosync import logging as todosync_logging
from todosync.config import Settings
from todosync.errors import TodosyncError

__all__ = ["PortInUse", "bind", "run"]


class PortInUse(TodosyncError):
    """Another process listens on the port asked for."""


# Open connections (a live event stream, say) may delay the shutdown this long, no more.
_CONNECTIONS_GRACE_S = 5


def run(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    settings: Settings,
    name: str = "todosync",
    on_started: Callable[[str], None] | None = None,
    on_signal: Callable[[], None] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serves `app` until interrupted; `on_started(base_url)` runs once the socket listens,
    `on_signal()` as soon as SIGTERM or SIGINT arrives; `name` tells its log lines apart.
    `sock`: a socket already bound to `host`:`port` (one that several processes share, see
    `todosync.processes`); by default one is bound here.
    From `settings`: the log level; the proxies whose `X-Forwarded-For` and `-Proto` are
    believed (`TODOSYNC_FORWARDED_ALLOW_IPS`: addresses or networks, `*` for any); the
    bounds on a request's head in size and in time (`headlimits`)."""
    log_level = settings.log_level
    _configure_logging(log_level)
    config = uvicorn.Config(
        serverlog.AccessLogMiddleware(app),
        host=host,
        port=port,
        log_level=log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=_CONNECTIONS_GRACE_S,
        log_config=None,
        access_log=False,
        http=headlimits.bounded_protocol(
            max_head_bytes=settings.max_header_bytes,
            head_timeout_s=settings.header_timeout_seconds,
        ),
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    if sock is None:
        sock = bind(host, port)
    with serverlog.serving_as(name):
        _Server(config, on_started=on_started, on_signal=on_signal).run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port` (0: a free port), or `PortInUse`."""
    # An explicit IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it every small request waits ~40 ms for a delayed ACK.
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} is in use") from None
        raise
    return sock


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_started: Callable[[str], None] | None,
        on_signal: Callable[[], None] | None,
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._on_signal is not None:
            self._on_signal()
        super().handle_exit(sig, frame)

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
    # The CLI has set up logging as the settings say; a caller that has not gets the default.
    if not logging.getLogger().handlers:
        todosync_logging.configure(level=level)
