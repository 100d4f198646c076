"""Runs against each other and against death, as real `todosync sync` processes: one run per
connection, a killed holder's lease reclaimed and its run reaped, and a rejected token that
stops the run at once without showing up anywhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.harness import LocalSide, remote_snapshot
from tests.sync.test_failure_kill import kill, sync_process, wait_for_held_write
from todosync.clock import utc_now
from todosync.sync.books import runs
from todosync.sync.books.models import SyncLease, SyncRun
from todosync.sync.books.run_status import RunStatus


async def _statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        result = await session.execute(
            sa.select(SyncRun.status, SyncRun.reason).order_by(SyncRun.id)
        )
        return [(status, reason or "") for status, reason in result]


def _pause_first_post(fake: FakeExternal) -> None:
    fake.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"], count=1)])


async def test_a_second_sync_reports_the_run_in_progress(
    database_url: str,
    fake_external: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """While one `todosync sync` holds the lease, another exits 1 with one line and records no
    run; the first then finishes normally."""
    await local.create_list("Groceries", ["Milk"])
    _pause_first_post(fake_external)
    first = sync_process(database_url, fake_external, "--json")
    wait_for_held_write(fake_external, first)

    second = sync_process(database_url, fake_external, "--json")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "todosync: error: a sync of this connection is already running"
    ]

    fake_external.release()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "ok"
    assert await _statuses(sessionmaker) == [("ok", "")]


async def test_a_killed_holders_lease_is_reclaimed_and_its_run_reaped(
    database_url: str,
    fake_external: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """After SIGKILL of the holder, the next sync starts at once (same host, dead pid), marks
    the dead run failed (abandoned) and converges; no lease stays behind."""
    await local.create_list("Groceries", ["Milk"])
    _pause_first_post(fake_external)
    holder = sync_process(database_url, fake_external)
    wait_for_held_write(fake_external, holder)
    kill(holder)
    assert await _statuses(sessionmaker) == [("running", "")]
    fake_external.clear_faults()

    after = sync_process(database_url, fake_external, "--json")
    _, err = after.communicate(timeout=60)
    assert after.returncode == 0, err
    assert await _statuses(sessionmaker) == [("failed", "abandoned"), ("ok", "")]
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
    async with sessionmaker() as session:
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(SyncLease))
        ).scalar() == 0


async def _add_run(
    session: AsyncSession, *, dry_run: bool = False, heartbeat_age_s: float = 0.0
) -> int:
    run = await runs.create_run(
        session, connection_id=1, trigger="cli", status=RunStatus.RUNNING, dry_run=dry_run
    )
    run.heartbeat_at = utc_now() - timedelta(seconds=heartbeat_age_s)
    await session.flush()
    return run.id


def _dead_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


async def test_the_reaper_fails_runs_without_a_live_holder_only(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """`runs.reap_abandoned` marks failed (abandoned) a run whose lease names another run, one
    whose holder's pid is dead, and a dry run with a stale heartbeat; a live one stays."""
    async with sessionmaker.begin() as session:
        live = await _add_run(session)
        session.add(
            SyncLease(
                connection_id=1,
                holder="me",
                host=socket.gethostname(),
                pid=os.getpid(),
                run_id=live,
                acquired_at=utc_now(),
                heartbeat_at=utc_now(),
            )
        )
        orphan = await _add_run(session)  # no lease names it
        fresh_dry = await _add_run(session, dry_run=True)
        stale_dry = await _add_run(session, dry_run=True, heartbeat_age_s=60)

    async with sessionmaker.begin() as session:
        reaped = await runs.reap_abandoned(session, now=utc_now(), ttl_s=15)
    assert sorted(reaped) == sorted([orphan, stale_dry])

    async with sessionmaker.begin() as session:
        await session.execute(sa.update(SyncLease).values(pid=_dead_pid()))
    async with sessionmaker.begin() as session:
        assert await runs.reap_abandoned(session, now=utc_now(), ttl_s=15) == [live]
    async with sessionmaker() as session:
        result = await session.execute(sa.select(SyncRun.id, SyncRun.status))
        status = {row.id: row.status for row in result}
    assert status == {live: "failed", orphan: "failed", fresh_dry: "running", stale_dry: "failed"}


async def test_a_rejected_token_stops_at_once_and_is_never_shown(
    database_url: str,
    fake_external: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A 401: exit 1 after one request (no retry), the setting named, and the token in no
    output, debug log or run record."""
    await local.create_list("Groceries", ["Milk"])
    secret = "tds-wrong-token-5f1c9a"
    env_fake = FakeExternal(url=fake_external.url, token=secret)
    try:
        process = sync_process(database_url, env_fake, "--json", TODOSYNC_LOG_LEVEL="DEBUG")
        out, err = process.communicate(timeout=60)
    finally:
        env_fake.close()
    assert process.returncode == 1
    assert "TODOSYNC_EXTERNAL_API_TOKEN" in json.loads(out.strip().splitlines()[-1])["reason"]
    assert secret not in out + err
    assert fake_external.request_count() == 1
    async with sessionmaker() as session:
        (run,) = (await session.execute(sa.select(SyncRun))).scalars()
    assert run.status == "failed"
    assert secret not in json.dumps([run.reason, run.errors, run.counts, run.plan])
