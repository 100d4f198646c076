"""`todosync serve` as a real process against the fake external API: periodic runs, delayed and
coalesced triggers, a restart, and a graceful stop on SIGTERM. SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.cli.serving import ServerProcess
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.harness import LocalSide
from todosync.clock import utc_now
from todosync.sync.books.models import SyncLease, SyncRun

WAIT_S = 60.0
T = TypeVar("T")


@pytest.fixture
def start_serve(
    database_url: str, fake_external: FakeExternal, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """Starts `todosync serve` against the fake with extra `TODOSYNC_*` settings; every
    process still running at the end is killed."""
    started: list[ServerProcess] = []

    def start(**settings: str) -> ServerProcess:
        env = {
            "TODOSYNC_EXTERNAL_API_URL": fake_external.url,
            "TODOSYNC_EXTERNAL_API_TOKEN": fake_external.token or "",
            "TODOSYNC_LOG_LEVEL": "INFO",
            **{f"TODOSYNC_{name.upper()}": value for name, value in settings.items()},
        }
        server = ServerProcess(["serve"], database_url=database_url, cwd=tmp_path, **env)
        started.append(server)
        server.wait_healthy()
        return server

    yield start
    for server in started:
        server.close()


async def _eventually(check: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    """Polls `check` until it returns something other than None (or False)."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _runs(sessionmaker: async_sessionmaker[AsyncSession]) -> list[SyncRun]:
    async with sessionmaker() as session:
        return list((await session.execute(sa.select(SyncRun).order_by(SyncRun.id))).scalars())


async def _leases(sessionmaker: async_sessionmaker[AsyncSession]) -> list[SyncLease]:
    async with sessionmaker() as session:
        return list((await session.execute(sa.select(SyncLease))).scalars())


def _api(server: ServerProcess, tenant: TenantToken) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers=tenant.headers, timeout=10)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_periodic_runs_happen_on_their_own(
    start_serve: Callable[..., ServerProcess],
    tenant: TenantToken,
    fake_external: FakeExternal,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """With a 1 s interval, `schedule` runs keep coming without any trigger and bring the
    remote list in; the status shows the next periodic time."""
    fake_external.create_list("Groceries", items=["Milk"])
    server = start_serve(sync_interval_seconds="1")

    async def two_scheduled_runs() -> list[SyncRun] | None:
        done = [r for r in await _runs(sessionmaker) if r.finished_at and r.trigger == "schedule"]
        return done if len(done) >= 2 else None

    done = await _eventually(two_scheduled_runs, what="two periodic runs")
    assert {run.status for run in done} == {"ok"}
    async with _api(server, tenant) as api:
        lists = (await api.get("/api/todolists")).json()["data"]
        status = (await api.get("/api/sync/status")).json()
    assert [todo["name"] for todo in lists] == ["Groceries"]
    assert status["next_run_at"] is not None
    assert status["last_success_at"] is not None
    # each run's outcome is one line of serve's log
    for run in done:  # written just after the run is recorded: waited for
        server.wait_for_output(f"connection 1: run {run.id} ok: local +")


async def test_a_failed_run_says_why_in_serves_log(
    start_serve: Callable[..., ServerProcess],
    fake_external: FakeExternal,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A run refused by the external API (a wrong token) is logged as a warning with the run
    id, its status and the reason, and never the token."""
    server = start_serve(sync_interval_seconds="1", external_api_token="wrong-token-never-shown")

    async def failed_run() -> SyncRun | None:
        return next((r for r in await _runs(sessionmaker) if r.status == "failed"), None)

    run = await _eventually(failed_run, what="a failed run")
    stderr = server.wait_for_output(f"run {run.id} failed")
    line = next(line for line in stderr.splitlines() if f"run {run.id} failed" in line)
    assert "warning" in line.lower()
    assert "refused the token" in line
    assert "wrong-token-never-shown" not in server.stderr


async def test_a_delayed_trigger_runs_no_earlier_than_asked(
    start_serve: Callable[..., ServerProcess],
    tenant: TenantToken,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A trigger with delay_seconds=2 is the status's next run and starts no earlier."""
    server = start_serve(sync_interval_seconds="300")
    asked_at = utc_now()
    async with _api(server, tenant) as api:
        response = await api.post("/api/sync", json={"delay_seconds": 2})
        run_id = response.json()["run_id"]
        status = (await api.get("/api/sync/status")).json()
        queued = (await api.get(f"/api/sync/runs/{run_id}")).json()

        async def finished() -> Any:
            run = (await api.get(f"/api/sync/runs/{run_id}")).json()
            return run if run["finished_at"] else None

        run = await _eventually(finished, what="the delayed run")
    (row,) = [r for r in await _runs(sessionmaker) if r.id == run_id]
    assert row.run_after is not None
    assert _at(status["next_run_at"]) == row.run_after
    assert queued["status"] == "queued"
    assert (run["trigger"], run["status"]) == ("delayed", "ok")
    assert _at(run["started_at"]) >= row.run_after
    assert _at(run["started_at"]) >= asked_at + timedelta(seconds=2)


async def test_triggers_during_a_run_coalesce_into_one_follow_up(
    start_serve: Callable[..., ServerProcess],
    tenant: TenantToken,
    fake_external: FakeExternal,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Manual and periodic triggers that arrive while a run is running all join one queued
    follow-up run."""
    fake_external.set_faults(
        [FaultRule(kind="latency", methods=["GET"], path="/todolists", latency_ms=3000)]
    )
    server = start_serve(sync_interval_seconds="1")

    async def running() -> SyncRun | None:
        return next((r for r in await _runs(sessionmaker) if r.status == "running"), None)

    current = await _eventually(running, what="a run in progress")
    async with _api(server, tenant) as api:
        ids = {(await api.post("/api/sync")).json()["run_id"] for _ in range(5)}
    (follow_up,) = ids
    assert follow_up != current.id

    async def finished(run_id: int) -> SyncRun | None:
        row = next(r for r in await _runs(sessionmaker) if r.id == run_id)
        return row if row.finished_at else None

    first = await _eventually(lambda: finished(current.id), what="the first run")
    await _eventually(lambda: finished(follow_up), what="the follow-up run")
    assert first.finished_at is not None
    assert first.started_at is not None
    created_during = [
        r.id
        for r in await _runs(sessionmaker)
        if first.started_at < r.created_at < first.finished_at
    ]
    assert created_during == [follow_up]


async def test_a_restart_keeps_a_pending_delayed_trigger(
    start_serve: Callable[..., ServerProcess],
    tenant: TenantToken,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A delayed run queued before a restart is still queued after the stop and runs after
    the restart, at or after its time."""
    first = start_serve(sync_interval_seconds="300")
    async with _api(first, tenant) as api:
        run_id = (await api.post("/api/sync", json={"delay_seconds": 3})).json()["run_id"]
    first.send(signal.SIGTERM)
    first.wait_exit()
    (pending,) = await _runs(sessionmaker)
    assert (pending.id, pending.status, pending.trigger) == (run_id, "queued", "delayed")
    assert pending.run_after is not None

    start_serve(sync_interval_seconds="300")

    async def finished() -> SyncRun | None:
        row = (await _runs(sessionmaker))[0]
        return row if row.finished_at else None

    done = await _eventually(finished, what="the delayed run after the restart")
    assert (done.id, done.status) == (run_id, "ok")
    assert done.started_at is not None
    assert done.started_at >= pending.run_after


async def test_sigterm_mid_run_finishes_the_current_entity_and_leaves_nothing_running(
    start_serve: Callable[..., ServerProcess],
    tenant: TenantToken,
    fake_external: FakeExternal,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """SIGTERM while a push is in flight: that push completes, the others wait, the run ends
    `partial` saying it was stopped, the lease is released, and the process exits."""
    local = LocalSide(sessionmaker)
    for name in ("One", "Two", "Three"):
        await local.create_list(name)
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"])])
    server = start_serve(sync_interval_seconds="0", push_concurrency="1")
    async with _api(server, tenant) as api:
        run_id = (await api.post("/api/sync")).json()["run_id"]
    await _eventually(
        lambda: _async(fake_external.request_count("POST") >= 1), what="the first push"
    )

    server.send(signal.SIGTERM)
    server.wait_for_output("Shutting down")
    assert fake_external.release_once_held() == 1
    assert server.wait_exit() == -signal.SIGTERM

    (run,) = await _runs(sessionmaker)
    assert (run.id, run.status) == (run_id, "partial")
    assert run.reason is not None
    assert "stopped by shutdown" in run.reason
    assert await _leases(sessionmaker) == []
    assert fake_external.request_count("POST") == 1
    assert [todo["name"] for todo in fake_external.state()] == ["One"]


async def test_sigterm_past_the_shutdown_timeout_fails_the_run_and_releases_the_lease(
    start_serve: Callable[..., ServerProcess],
    tenant: TenantToken,
    fake_external: FakeExternal,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A run stuck in a call past SHUTDOWN_TIMEOUT_SECONDS is cut short and recorded
    `failed`, interrupted by shutdown; the lease is released and the process exits."""
    await LocalSide(sessionmaker).create_list("Stuck")
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"])])
    server = start_serve(sync_interval_seconds="0", shutdown_timeout_seconds="1")
    async with _api(server, tenant) as api:
        run_id = (await api.post("/api/sync")).json()["run_id"]
    await _eventually(lambda: _async(fake_external.request_count("POST") >= 1), what="the push")

    server.send(signal.SIGTERM)
    assert server.wait_exit() == -signal.SIGTERM

    (run,) = await _runs(sessionmaker)
    assert (run.id, run.status) == (run_id, "failed")
    assert run.reason is not None
    assert "interrupted by shutdown" in run.reason
    assert await _leases(sessionmaker) == []
    assert "Traceback" not in server.stderr


async def _async(value: T) -> T:
    return value
