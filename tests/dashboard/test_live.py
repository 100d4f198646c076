"""`/dashboard/events` on a real server: the session's stream of its tenant's events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from tests.dashboard.live_server import LiveServer
from tests.dashboard.pages import sign_in
from tests.fixtures.api import TenantToken
from tests.sync.harness import LocalSide


async def _events(lines: AsyncIterator[str], *, until: str) -> list[str]:
    """The `event:`/`data:` lines read until a data line equals `until` (20 s at most)."""
    seen: list[str] = []
    async with asyncio.timeout(20):
        async for line in lines:
            if line.startswith(("event:", "data:")):
                seen.append(line)
            if line == f"data: {until}":
                return seen
    raise AssertionError(f"the stream ended before {until}: {seen}")


async def test_the_stream_reports_a_run_of_the_sessions_tenant(
    server: LiveServer, tenant: TenantToken, local: LocalSide, api: httpx.AsyncClient
) -> None:
    """Once connected, the stream carries the run's events, which the page reloads on."""
    await local.create_list("Groceries")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        await sign_in(browser, tenant.token)
        async with browser.stream("GET", "/dashboard/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await _events(lines, until="connected") == [
                "event: connected",
                "data: connected",
            ]
            assert (await api.post("/api/sync")).status_code == 202

            seen = await _events(lines, until="run.finished")

    assert "data: run.started" in seen
    assert set(seen) <= {"event: changed", *(f"data: {k}" for k in _KINDS)}


_KINDS = ("run.started", "run.progress", "run.finished", "entity.changed", "conflict.opened")


async def test_the_stream_needs_a_session(server: LiveServer) -> None:
    """Without a signed-in session the stream is closed: back to signing in."""
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        response = await anonymous.get("/dashboard/events")

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"
