"""The live parts of one server, shared by the public API, the control API and the fault gate:
data, request log, fault engine, current settings, the clock, and the held requests."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from todosync import clock
from todosync.fake_external import config, faults, persist, requestlog, state

__all__ = ["Runtime"]


class Runtime:
    """Mutable server state; touched only from the server's event loop (except `stop`)."""

    def __init__(self, server_config: config.ServerConfig) -> None:
        self._initial = server_config
        self.settings = server_config.runtime
        self.faults = faults.FaultEngine(server_config.faults)
        self.log = requestlog.RequestLog()
        path = server_config.state_path
        self.store = state.Store(file=persist.SqliteFile(path) if path else None)
        self._release = asyncio.Event()
        self.held = 0
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the server starts

    def now(self) -> datetime:
        """The server's clock: real UTC time plus the configured offset."""
        return clock.utc_now() + timedelta(seconds=self.settings.clock_offset_s)

    def timestamp(self) -> str:
        """`now()` as the API writes it into `created_at` and `updated_at`."""
        return state.format_timestamp(self.now())

    @staticmethod
    def real_timestamp() -> str:
        """The real time (no offset), for the request log."""
        return state.format_timestamp(clock.utc_now())

    def release_event(self) -> asyncio.Event:
        """The event that the requests held now wait for."""
        return self._release

    def release_held(self) -> int:
        """Lets every held request go on; returns how many were held."""
        released = self.held
        self._release.set()
        self._release = asyncio.Event()  # later holds wait for the next release
        return released

    def reset(self) -> None:
        """Empty data and log; faults and settings as at start; held requests released."""
        self.store.clear()
        self.log.clear()
        self.faults.replace(self._initial.faults)
        self.settings = self._initial.runtime
        self.release_held()

    def close(self) -> None:
        self.release_held()
        self.store.close()
