"""Crash safety: `todosync sync` killed with SIGKILL right after its N-th remote write reached
the fake (the write applied, its answer held), then one normal sync: both sides equal what the
edits asked for, with no duplicate on either side and nothing lost.

The run writes 29 times: 25 new lists (one POST each), a rename (PATCH), a delete, and a list
re-create for a new item in a synced list (POST, then DELETE of the old copy), while it also
imports 25 new remote lists and pulls two remote edits. CI kills it at a few positions chosen
to cover each kind of write; `-m slow` kills it at every one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.conftest import RunSync
from tests.sync.harness import (
    LocalSide,
    Snapshot,
    remote_item_id,
    remote_list_id,
    remote_snapshot,
)
from todosync.sync.books.models import SyncRun

NEW = 25
WRITES = NEW + 4
_WRITE_METHODS = ["POST", "PATCH", "DELETE"]
# the first and a middle write, the last of the lists' (which run concurrently, so POSTs,
# the PATCH and the DELETE mix), and the two steps of the re-create
CI_POSITIONS = [1, 14, 27, 28, 29]
SLOW_POSITIONS = [n for n in range(1, WRITES + 1) if n not in CI_POSITIONS]


def sync_process(
    database_url: str, fake: FakeExternal, *args: str, **extra_env: str
) -> subprocess.Popen[str]:
    """`todosync sync ARGS` as a subprocess against the fake, output captured."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TODOSYNC_")},
        "TODOSYNC_DATABASE_URL": database_url,
        "TODOSYNC_EXTERNAL_API_URL": fake.url,
        "TODOSYNC_EXTERNAL_API_TOKEN": fake.token or "",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "todosync", "sync", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_held_write(fake: FakeExternal, process: subprocess.Popen[str]) -> None:
    """Waits until a paused write has been applied (its answer held), or fails."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(r.fault == "applied_then_pause" and r.applied for r in fake.requests()):
            return
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the sync ended before the paused write: {out} {err}")
        time.sleep(0.02)
    pytest.fail("the paused write never arrived")


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


async def _prepare(fake: FakeExternal, local: LocalSide, run_sync: RunSync) -> Snapshot:
    """Synced lists, then edits on both sides; returns the snapshot both must end with."""
    await local.create_list("Keep", ["k1", "k2"])
    await local.create_list("Rename me", ["r1"])
    await local.create_list("Delete me", ["d1"])
    grow = await local.create_list("Grow", ["g1"])
    await local.create_list("Remote edits", [("e1", False)])
    assert (await run_sync()).status == "ok"

    for i in range(NEW):
        await local.create_list(f"Local {i:02}", [f"local item {i}"])
        fake.create_list(f"Remote {i:02}", items=[f"remote item {i}"])
    lists = await local.list_ids()
    await local.rename_list(lists["Rename me"], "Renamed")
    await local.delete_list(lists["Delete me"])
    await local.add_item(grow, "g2")  # no item endpoint: the list is re-created remotely
    state = fake.state()
    edits = remote_list_id(state, "Remote edits")
    fake.update_item(edits, remote_item_id(state, "Remote edits", "e1"), completed=True)
    fake.update_list(remote_list_id(state, "Keep"), name="Kept")
    fake.clear_requests()
    return sorted(
        [
            ("Kept", [("k1", False), ("k2", False)]),
            ("Renamed", [("r1", False)]),
            ("Grow", [("g1", False), ("g2", False)]),
            ("Remote edits", [("e1", True)]),
            *((f"Local {i:02}", [(f"local item {i}", False)]) for i in range(NEW)),
            *((f"Remote {i:02}", [(f"remote item {i}", False)]) for i in range(NEW)),
        ]
    )


def assert_no_remote_duplicates(state: list[dict[str, Any]]) -> None:
    sources = [todo["source_id"] for todo in state if todo.get("source_id")]
    assert len(sources) == len(set(sources))
    names = [todo["name"] for todo in state]
    assert len(names) == len(set(names))


async def _killed_then_recovered(
    position: int,
    database_url: str,
    fake: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    expected = await _prepare(fake, local, run_sync)
    fake.set_faults(
        [FaultRule(kind="applied_then_pause", methods=_WRITE_METHODS, skip=position - 1, count=1)]
    )
    killed = sync_process(database_url, fake)
    wait_for_held_write(fake, killed)
    kill(killed)
    fake.clear_faults()

    recovery = sync_process(database_url, fake, "--json")
    out, err = recovery.communicate(timeout=120)
    assert recovery.returncode == 0, out + err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "ok"

    assert await local.snapshot() == expected
    assert remote_snapshot(fake.state()) == expected
    assert_no_remote_duplicates(fake.state())
    async with sessionmaker() as session:
        result = await session.execute(sa.select(SyncRun.status, SyncRun.reason))
        outcomes = sorted((status, reason or "") for status, reason in result)
    assert outcomes == [("failed", "abandoned"), ("ok", ""), ("ok", "")]
    fake.clear_requests()
    settled = await run_sync()  # nothing was left behind: the pull is the only call
    assert (settled.status, settled.api_calls) == ("ok", 1)


@pytest.mark.parametrize("position", CI_POSITIONS)
async def test_a_sync_killed_after_a_remote_write_recovers_in_one_run(
    position: int,
    database_url: str,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """SIGKILL right after the N-th write landed, then one sync: equal, no duplicates, no loss."""
    await _killed_then_recovered(
        position, database_url, fake_external, local, run_sync, sessionmaker
    )


@pytest.mark.slow
@pytest.mark.parametrize("position", SLOW_POSITIONS)
async def test_a_sync_killed_at_any_write_recovers_in_one_run(
    position: int,
    database_url: str,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The kill test at every other write position."""
    await _killed_then_recovered(
        position, database_url, fake_external, local, run_sync, sessionmaker
    )
