"""Quarantine and dead letters over real runs against the fake: invalid remote data is kept
out and never deleted, run after run; an entity whose action fails backs off, is dead-lettered
after `MAX_ENTITY_ATTEMPTS`, shows in the API, and converges once replayed."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_list_id, remote_snapshot
from todosync.sync.books.models import SyncQuarantine


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[SyncQuarantine]:
    async with sessionmaker() as session:
        # lists before items: one run writes its rows in no particular order
        ordered = sa.select(SyncQuarantine).order_by(SyncQuarantine.kind.desc(), SyncQuarantine.id)
        result = await session.execute(ordered)
        return list(result.scalars())


async def _run_log(client: httpx.AsyncClient, run_id: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await client.get(f"/api/sync/runs/{run_id}")).json()["log"]
    return entries


async def _synced(local: LocalSide, run_sync: RunSync) -> None:
    """Three lists synced to both sides."""
    await local.create_list("Groceries", ["Milk", "Eggs"])
    await local.create_list("Chores", ["Sweep", "Dust"])
    await local.create_list("Books", ["Dune"])
    report = await run_sync()
    assert report.status == "ok", report.errors


def _corrupt(state: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The state with a list whose name is a number and an item without an id."""
    broken = copy.deepcopy(state)
    for todo in broken:
        if todo["name"] == "Groceries":
            todo["name"] = 42
        if todo["name"] == "Chores":
            del todo["items"][0]["id"]
    return broken


async def test_invalid_remote_data_is_quarantined_run_after_run_and_never_deleted(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Bad entities get one row each (upserted, not repeated); the run that finds them is
    partial with the reasons, later runs are ok and only count them; the rest syncs both
    ways, nothing is deleted; fixed data clears the rows."""
    await _synced(local, run_sync)
    good = fake_external.state()
    fake_external.load_state(_corrupt(good))
    books = await local.list_ids()
    await local.rename_list(books["Books"], "Novels")
    before_local = await local.snapshot()

    for attempt in (1, 2):
        report = await run_sync()
        assert report.counts["quarantined"] == 2
        reasons = " ".join(e["reason"] for e in report.errors)
        if attempt == 1:  # new to the quarantine: the run falls short
            assert report.status == "partial"
            assert "name" in reasons
            assert "id" in reasons
        else:  # already quarantined: counted, not alarmed on again
            assert (report.status, report.errors) == ("ok", [])
        rows = await _rows(sessionmaker)
        assert [(r.kind, r.attempts) for r in rows] == [("list", attempt), ("item", attempt)]
        assert rows[0].local_id == books["Groceries"]

    # nothing deleted on either side; the valid change went out
    lists = await local.list_ids()
    assert sorted(lists) == ["Chores", "Groceries", "Novels"]
    assert sorted(await local.item_ids(lists["Chores"])) == ["Dust", "Sweep"]
    assert sorted(str(todo["name"]) for todo in fake_external.state()) == [
        "42",
        "Chores",
        "Novels",
    ]
    assert len(before_local) == 3

    for todo in good:  # the data is fixed remotely
        if todo["name"] == "Books":
            todo["name"] = "Novels"
    fake_external.load_state(good)
    report = await run_sync()
    assert report.status == "ok", report.errors
    assert await _rows(sessionmaker) == []
    assert await local.snapshot() == remote_snapshot(fake_external.state())


async def test_a_failing_entity_backs_off_then_is_dead_lettered_and_replay_converges(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
) -> None:
    """A list whose PATCH is refused (422) is retried by each run until it is dead-lettered;
    it is listed by the API, other entities keep syncing, and a replay lets it converge."""
    await _synced(local, run_sync)
    lists = await local.list_ids()
    await local.rename_list(lists["Groceries"], "Food")
    target = remote_list_id(fake_external.state(), "Groceries")
    fake_external.set_faults(
        [FaultRule(kind="error", status=422, methods=["PATCH"], path=f"/todolists/{target}")]
    )
    quick = {"entity_retry_seconds": 0.0, "max_entity_attempts": 3}

    for attempt in (1, 2, 3):
        await local.rename_list(lists["Books"], f"Books {attempt}")  # others keep syncing
        report = await run_sync(settings=quick)
        assert report.status == "partial"
        (row,) = await _rows(sessionmaker)
        assert (row.kind, row.local_id, row.attempts) == ("list", lists["Groceries"], attempt)
        assert row.dead is (attempt == 3)
    assert fake_external.request_count("PATCH", path=f"/todolists/{target}") == 3

    fake_external.clear_requests()
    report = await run_sync(settings=quick)
    # dead-lettered before this run: counted, logged, but no shortfall of this run
    assert (report.status, report.errors) == ("ok", [])
    assert report.counts["quarantined"] == 1
    assert fake_external.request_count("PATCH") == 0  # skipped, not tried
    log = await _run_log(client, report.run_id)
    assert any("dead-lettered after 3 attempts" in (entry["reason"] or "") for entry in log)

    listed = (await client.get("/api/sync/quarantine")).json()["data"]
    assert [(q["entity"], q["local_id"], q["attempts"]) for q in listed] == [
        ("list", lists["Groceries"], 3)
    ]
    fake_external.clear_faults()
    replayed = await client.post(f"/api/sync/quarantine/{listed[0]['id']}/replay")
    assert replayed.status_code == 202

    report = await run_sync(settings=quick)
    assert report.status == "ok", report.errors
    assert await _rows(sessionmaker) == []
    assert await local.snapshot() == remote_snapshot(fake_external.state())
    assert "Food" in (await local.list_ids())


async def test_a_backing_off_entity_is_skipped_until_its_time_and_success_clears_it(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """After one refused PATCH the next run does not try again before `next_retry_at`; once
    that has passed (retry time 0) the entity succeeds and its row is gone."""
    await _synced(local, run_sync)
    lists = await local.list_ids()
    await local.rename_list(lists["Chores"], "Tasks")
    target = remote_list_id(fake_external.state(), "Chores")
    fake_external.set_faults(
        [FaultRule(kind="error", status=409, methods=["PATCH"], path=f"/todolists/{target}")]
    )
    report = await run_sync(settings={"entity_retry_seconds": 3600.0})
    assert report.status == "partial"
    (row,) = await _rows(sessionmaker)
    assert (row.attempts, row.dead) == (1, False)
    assert row.next_retry_at is not None

    fake_external.clear_faults()
    fake_external.clear_requests()
    report = await run_sync(settings={"entity_retry_seconds": 3600.0})
    assert report.status == "partial"
    assert "backing off until" in report.errors[0]["reason"]
    assert fake_external.request_count("PATCH") == 0

    async with sessionmaker.begin() as session:  # its time has come
        await session.execute(sa.update(SyncQuarantine).values(next_retry_at=None))
    report = await run_sync()
    assert report.status == "ok", report.errors
    assert await _rows(sessionmaker) == []
    assert "Tasks" in [todo["name"] for todo in fake_external.state()]


async def test_transient_failures_do_not_back_off(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A 500 (the API's fault, not the entity's) leaves no quarantine row: the next run retries."""
    await _synced(local, run_sync)
    lists = await local.list_ids()
    await local.rename_list(lists["Books"], "Novels")
    fake_external.set_faults([FaultRule(kind="error", status=500, methods=["PATCH"])])
    report = await run_sync()
    assert report.status == "partial"
    assert await _rows(sessionmaker) == []
    fake_external.clear_faults()
    assert (await run_sync()).status == "ok"
    assert await local.snapshot() == remote_snapshot(fake_external.state())
