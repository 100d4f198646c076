"""Dismissing a conflict over the API: it closes as it stands, changes no data, and is
refused once the conflict is closed in any way."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.helpers import assert_problem, assert_timestamp
from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_list_id


async def _conflict(fake: FakeExternal, local: LocalSide, run_sync: RunSync) -> int:
    """A list renamed on both sides (remote later, so it wins) and synced; returns its id."""
    list_id = await local.create_list("Groceries", ["Milk"])
    assert (await run_sync()).status == "ok"
    await local.rename_list(list_id, "by local")
    await asyncio.sleep(0.01)
    fake.update_list(remote_list_id(fake.state(), "Groceries"), name="by remote")
    assert (await run_sync()).counts["conflicts"] == 1
    return list_id


async def test_dismissing_closes_a_conflict_and_changes_no_data(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
) -> None:
    """A dismissed conflict answers 200 with its new status and who closed it, stops
    counting, lists under `dismissed`, changes nothing on either side, and cannot be
    dismissed or resolved again (409); another tenant gets a 404."""
    list_id = await _conflict(fake_external, local, run_sync)
    (conflict,) = (await client.get("/api/sync/conflicts")).json()["data"]
    path = f"/api/sync/conflicts/{conflict['id']}/dismiss"
    assert_problem(await other_client.post(path), 404)
    before = (await client.get(f"/api/todolists/{list_id}")).json()

    response = await client.post(path)

    assert response.status_code == 200, response.text
    dismissed = response.json()
    assert dismissed["status"] == "dismissed"
    assert dismissed["resolution"]["by"] == "api"
    assert_timestamp(dismissed["resolution"]["at"])
    assert {k: v for k, v in dismissed.items() if k not in ("status", "resolution")} == {
        k: v for k, v in conflict.items() if k not in ("status", "resolution")
    }
    assert (await client.get("/api/sync/status")).json()["open_conflicts"] == 0
    assert (await client.get("/api/sync/conflicts")).json()["data"] == []
    listed = (await client.get("/api/sync/conflicts", params={"status": "dismissed"})).json()
    assert listed["data"] == [dismissed]
    assert (await client.get(f"/api/todolists/{list_id}")).json() == before
    fake_external.clear_requests()
    assert (await run_sync()).api_calls == 1
    assert [todo["name"] for todo in fake_external.state()] == ["by remote"]
    problem = assert_problem(await client.post(path), 409)
    assert "already dismissed" in problem["detail"]
    resolve = f"/api/sync/conflicts/{conflict['id']}/resolve"
    assert_problem(await client.post(resolve, json={"choice": "local"}), 409)


async def test_resolved_and_obsolete_conflicts_cannot_be_dismissed(
    client: httpx.AsyncClient, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Dismissing a resolved conflict, or one a run closed as obsolete, is a 409."""
    list_id = await _conflict(fake_external, local, run_sync)
    (first,) = (await client.get("/api/sync/conflicts")).json()["data"]
    resolved = await client.post(
        f"/api/sync/conflicts/{first['id']}/resolve", json={"choice": "remote"}
    )
    assert resolved.status_code == 200
    assert_problem(await client.post(f"/api/sync/conflicts/{first['id']}/dismiss"), 409)

    await local.rename_list(list_id, "local again")
    await asyncio.sleep(0.01)
    fake_external.update_list(remote_list_id(fake_external.state(), "by remote"), name="remote")
    assert (await run_sync()).counts["conflicts"] == 1
    (second,) = (await client.get("/api/sync/conflicts")).json()["data"]
    await local.delete_list(list_id)
    await run_sync()
    obsolete = (await client.get("/api/sync/conflicts", params={"status": "obsolete"})).json()
    assert [c["id"] for c in obsolete["data"]] == [second["id"]]
    assert_problem(await client.post(f"/api/sync/conflicts/{second['id']}/dismiss"), 409)
