"""The sync API over real runs against the fake external API: runs and their log, the
dispatcher, status, conflicts and their resolution, and entity history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.api.helpers import assert_problem
from tests.fixtures.api import TenantToken, make_client
from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_list_id
from todosync import config
from todosync.app import create_app
from todosync.sync.books import lease, runs
from todosync.sync.books.run_status import RunStatus


@pytest.fixture
async def live_client(
    sync_settings: config.Settings, engine: AsyncEngine, tenant: TenantToken
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose dispatcher runs (lifespan started) against the fake."""
    app = create_app(sync_settings, engine=engine, dispatcher=True)
    async with app.router.lifespan_context(app), make_client(app, token=tenant.token) as client:
        yield client


async def _wait_for(client: httpx.AsyncClient, run_id: int, *, timeout_s: float = 10.0) -> Any:
    """The run once it has finished (polls its detail view)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        run = (await client.get(f"/api/sync/runs/{run_id}")).json()
        if run["finished_at"] is not None or loop.time() > deadline:
            return run
        await asyncio.sleep(0.05)


async def test_a_run_shows_with_its_log(
    client: httpx.AsyncClient, local: LocalSide, run_sync: RunSync
) -> None:
    """A finished run is listed with its counts, and its detail view carries the log."""
    list_id = await local.create_list("Groceries", ["Milk"])
    report = await run_sync()

    (run,) = (await client.get("/api/sync/runs")).json()["data"]
    assert (run["id"], run["status"], run["trigger"]) == (report.run_id, "ok", "cli")
    assert run["counts"]["remote"]["created"] == report.counts["remote"]["created"] >= 1
    detail = (await client.get(f"/api/sync/runs/{run['id']}")).json()
    assert {(e["kind"], e["local_id"], e["side"]) for e in detail["log"]} >= {
        ("list", list_id, "remote")
    }
    assert all(e["outcome"] == "ok" for e in detail["log"])


async def test_the_dispatcher_carries_out_a_queued_run(
    live_client: httpx.AsyncClient, local: LocalSide, fake_external: FakeExternal
) -> None:
    """POST /api/sync answers 202 at once; the dispatcher takes the run to "ok"."""
    await local.create_list("Groceries", ["Milk"])
    response = await live_client.post("/api/sync")
    assert response.status_code == 202

    run = await _wait_for(live_client, response.json()["run_id"])

    assert run["status"] == "ok"
    assert run["trigger"] == "manual"
    assert [todo["name"] for todo in fake_external.state()] == ["Groceries"]
    status = (await live_client.get("/api/sync/status")).json()
    assert status["last_run"]["id"] == run["id"]
    assert status["last_success_at"] == run["finished_at"]
    assert status["circuit"] == "closed"
    assert status["pending_changes"] == 0
    assert status["next_run_at"] is None
    assert status["lag_s"] >= 0


async def test_a_delayed_run_does_not_start_early(
    live_client: httpx.AsyncClient, local: LocalSide
) -> None:
    """A run queued with delay_seconds stays queued before its time."""
    await local.create_list("Groceries")
    run_id = (await live_client.post("/api/sync", json={"delay_seconds": 60})).json()["run_id"]
    await asyncio.sleep(1.5)
    run = (await live_client.get(f"/api/sync/runs/{run_id}")).json()
    assert run["status"] == "queued"
    assert run["started_at"] is None


async def test_a_failing_queued_run_is_marked_failed(
    live_client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A queued run that cannot start (its list is gone) ends as failed, with its reason in
    the run, the list of runs and the status; the loop goes on."""
    async with sessionmaker.begin() as session:
        run = await runs.create_run(
            session, connection_id=1, trigger="manual", status=RunStatus.QUEUED, list_id=999_999
        )
    failed = await _wait_for(live_client, run.id)
    assert failed["status"] == "failed"
    assert "not found" in (failed["reason"] or "")
    # the list of runs and the status say why too, not only the run's own page
    listed = (await live_client.get("/api/sync/runs")).json()["data"]
    assert next(r for r in listed if r["id"] == run.id)["reason"] == failed["reason"]
    status = (await live_client.get("/api/sync/status")).json()
    assert status["last_run"]["reason"] == failed["reason"]
    follow_up = (await live_client.post("/api/sync")).json()["run_id"]
    assert (await _wait_for(live_client, follow_up))["status"] == "ok"


async def test_a_run_waits_while_another_holds_the_lease(
    live_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
) -> None:
    """A queued run whose connection is busy (a CLI sync) stays queued, then runs."""
    holder = lease.Holder()
    busy = await lease.acquire(
        sessionmaker, connection_id=1, holder=holder, ttl_s=sync_settings.lease_ttl_seconds
    )
    assert busy is None
    run_id = (await live_client.post("/api/sync")).json()["run_id"]
    await asyncio.sleep(1.5)
    assert (await live_client.get(f"/api/sync/runs/{run_id}")).json()["status"] == "queued"
    await lease.release(sessionmaker, connection_id=1, holder=holder)
    assert (await _wait_for(live_client, run_id))["status"] == "ok"


async def test_status_counts_pending_changes(
    client: httpx.AsyncClient, local: LocalSide, run_sync: RunSync
) -> None:
    """Unsynced and edited entities are pending; a deleted never-synced one is not."""
    list_id = await local.create_list("Groceries", ["Milk"])
    assert (await client.get("/api/sync/status")).json()["pending_changes"] == 2
    await run_sync()
    assert (await client.get("/api/sync/status")).json()["pending_changes"] == 0
    await local.rename_list(list_id, "Shopping")
    doomed = await local.create_list("Never synced")
    await local.delete_list(doomed)
    assert (await client.get("/api/sync/status")).json()["pending_changes"] == 1


async def _conflict(fake: FakeExternal, local: LocalSide, run_sync: RunSync) -> int:
    """A list renamed on both sides (remote later) and synced; returns its local id."""
    list_id = await local.create_list("Groceries", ["Milk"])
    await local.create_list("Spare")
    assert (await run_sync()).status == "ok"
    await local.rename_list(list_id, "by local")
    await asyncio.sleep(0.01)
    fake.update_list(remote_list_id(fake.state(), "Groceries"), name="by remote")
    report = await run_sync()
    assert report.counts["conflicts"] == 1
    return list_id


async def test_a_conflict_is_listed_and_resolved_with_a_value(
    client: httpx.AsyncClient,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
) -> None:
    """A recorded conflict is listed; resolving it with a value writes it locally, the next
    run pushes it, and resolving again is a 409."""
    list_id = await _conflict(fake_external, local, run_sync)
    (conflict,) = (await client.get("/api/sync/conflicts")).json()["data"]
    assert (conflict["entity"], conflict["entity_id"], conflict["field"]) == (
        "list",
        list_id,
        "name",
    )
    assert (conflict["base"], conflict["local"], conflict["remote"]) == (
        "Groceries",
        "by local",
        "by remote",
    )
    assert (conflict["winner"], conflict["status"], conflict["resolution"]) == (
        "remote",
        "open",
        None,
    )
    path = f"/api/sync/conflicts/{conflict['id']}/resolve"

    response = await client.post(path, json={"choice": "value", "value": "Agreed"})

    assert response.status_code == 200, response.text
    resolved = response.json()
    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["choice"] == "value"
    assert resolved["resolution"]["value"] == "Agreed"
    assert (await client.get("/api/sync/status")).json()["open_conflicts"] == 0
    assert (await client.get(f"/api/todolists/{list_id}")).json()["name"] == "Agreed"
    report = await run_sync()
    assert report.status == "ok"
    assert report.counts["remote"]["updated"] == 1
    assert sorted(todo["name"] for todo in fake_external.state()) == ["Agreed", "Spare"]
    assert_problem(await client.post(path, json={"choice": "local"}), 409)
    listed = (await client.get("/api/sync/conflicts", params={"status": "resolved"})).json()
    assert [c["id"] for c in listed["data"]] == [conflict["id"]]


async def test_resolving_with_the_winner_only_closes_the_conflict(
    client: httpx.AsyncClient,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
) -> None:
    """Choosing the side that already won writes nothing: the next run has nothing to do."""
    list_id = await _conflict(fake_external, local, run_sync)
    (conflict,) = (await client.get("/api/sync/conflicts")).json()["data"]
    before = (await client.get(f"/api/todolists/{list_id}")).json()

    response = await client.post(
        f"/api/sync/conflicts/{conflict['id']}/resolve", json={"choice": "remote"}
    )

    assert response.json()["status"] == "resolved"
    assert (await client.get(f"/api/todolists/{list_id}")).json() == before
    fake_external.clear_requests()
    report = await run_sync()
    assert report.api_calls == 1


async def test_resolving_a_deleted_entity_is_a_conflict(
    client: httpx.AsyncClient,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
) -> None:
    """A conflict whose entity was deleted locally cannot be resolved (409) and stays open."""
    list_id = await _conflict(fake_external, local, run_sync)
    (conflict,) = (await client.get("/api/sync/conflicts")).json()["data"]
    await local.delete_list(list_id)
    path = f"/api/sync/conflicts/{conflict['id']}/resolve"
    assert_problem(await client.post(path, json={"choice": "local"}), 409)
    assert (await client.get("/api/sync/status")).json()["open_conflicts"] == 1


async def test_history_lists_every_event_of_an_entity(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
) -> None:
    """An entity's history holds the runs that touched it, oldest first; another tenant gets
    404."""
    list_id = await local.create_list("Groceries")
    await local.create_list("Spare")
    first = await run_sync()
    await local.rename_list(list_id, "Shopping")
    second = await run_sync()

    params = {"entity": f"list:{list_id}"}
    body = (await client.get("/api/sync/history", params=params)).json()

    assert [(e["run_id"], e["side"]) for e in body["data"]] == [
        (first.run_id, "remote"),
        (second.run_id, "remote"),
    ]
    assert set(body["data"][0]) == {"at", "run_id", "action", "side", "fields"}
    assert "name" in body["data"][1]["fields"]
    assert_problem(await other_client.get("/api/sync/history", params=params), 404)
    assert_problem(await other_client.get(f"/api/sync/runs/{first.run_id}"), 404)
