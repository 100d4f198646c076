"""A reader of `GET /api/events` for the isolation tests: opened before anything happens,
read later up to a marker event, so that whatever reached the stream in between is seen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["EventStream", "Sse", "open_stream"]

_READ_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Sse:
    event: str
    data: dict[str, Any]


class EventStream:
    """The events of one open stream, read on demand."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def until(self, last: Callable[[Sse], bool]) -> list[Sse]:
        """Every event up to and including the first for which `last` is true."""
        return await asyncio.wait_for(self._until(last), _READ_TIMEOUT_S)

    async def _until(self, last: Callable[[Sse], bool]) -> list[Sse]:
        seen: list[Sse] = []
        event, data = "", ""
        async for line in self._lines:
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data += line.partition(":")[2].strip()
            elif not line and data:
                seen.append(Sse(event, json.loads(data)))
                event, data = "", ""
                if last(seen[-1]):
                    return seen
        raise AssertionError("the stream ended")


@asynccontextmanager
async def open_stream(url: str, *, token: str) -> AsyncIterator[EventStream]:
    """The stream of `token`'s tenant, once the server has subscribed it (nothing published
    after this returns can be missed)."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(10, read=_READ_TIMEOUT_S)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream("GET", f"{url}/api/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        async for line in lines:
            if line == ": connected":
                break
        yield EventStream(lines)
