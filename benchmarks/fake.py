"""The fake external API as a child process (`todosync fake-external`), driven through its
control endpoints (`/__control/...`), which it never counts or faults."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import msgspec

from benchmarks import procs

__all__ = ["FakeApi"]


class FakeApi:
    """A running fake with a random token (passed by environment, never on a command line)."""

    def __init__(self, *, cwd: Path) -> None:
        self.token = secrets.token_urlsafe(24)
        port = procs.free_port()
        env = procs.base_env(TODOSYNC_FAKE_TOKEN=self.token)
        self._server = procs.start_background(
            ["-m", "todosync", "fake-external", "--port", str(port)],
            env=env,
            cwd=cwd,
            port=port,
            ready_path="/__control/config",
        )
        self.url = self._server.url
        self._control = httpx.Client(base_url=self.url + "/__control", timeout=120.0)

    def reset(self) -> None:
        """Empty data and request log."""
        self._control.post("/reset").raise_for_status()

    def put_state(self, lists: list[dict[str, Any]]) -> None:
        self._control.put("/state", content=msgspec.json.encode(lists)).raise_for_status()

    def get_state(self) -> list[dict[str, Any]]:
        state: list[dict[str, Any]] = self._control.get("/state").raise_for_status().json()
        return state

    def clear_log(self) -> None:
        self._control.delete("/requests").raise_for_status()

    def request_count(self) -> int:
        """Public requests since the log was cleared: the API calls a sync made."""
        return len(self._control.get("/requests").raise_for_status().json())

    def stop(self) -> float:
        """Stops the server; its peak RSS in MB."""
        self._control.close()
        return self._server.stop()
