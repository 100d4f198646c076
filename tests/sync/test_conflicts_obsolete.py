"""Conflicts whose list or item is gone: the next run closes them as obsolete, in one
statement, with the reason in their resolution and a log entry in the entity's history."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.api.helpers import assert_problem, assert_timestamp
from tests.fixtures.fake_external import FakeExternal
from tests.fixtures.statements import sent_statements
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_item_id, remote_list_id
from todosync.observe import metrics
from todosync.store.models import TodoItem


async def _two_conflicts(
    fake: FakeExternal, local: LocalSide, run_sync: RunSync
) -> tuple[int, int]:
    """A list's name and one of its items' description changed on both sides (remote later)
    and synced, beside a list without conflicts; returns the list's and the item's ids."""
    list_id = await local.create_list("Groceries", ["Milk", "Bread"])
    item_id = (await local.item_ids(list_id))["Milk"]
    await local.create_list("Spare")
    assert (await run_sync()).status == "ok"
    await local.rename_list(list_id, "by local")
    await local.update_item(list_id, item_id, description="Oat milk")
    await asyncio.sleep(0.01)
    state = fake.state()
    remote_list = remote_list_id(state, "Groceries")
    fake.update_list(remote_list, name="by remote")
    fake.update_item(remote_list, remote_item_id(state, "Groceries", "Milk"), description="Soy")
    report = await run_sync()
    assert report.counts["conflicts"] == 2
    return list_id, item_id


async def _conflicts(client: httpx.AsyncClient, status: str) -> dict[str, Any]:
    """The conflicts of one status, by entity (`list` or `item`)."""
    body = (await client.get("/api/sync/conflicts", params={"status": status})).json()
    return {c["entity"]: c for c in body["data"]}


async def _open_count(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/sync/status")).json()["open_conflicts"])


async def _history(client: httpx.AsyncClient, entity: str) -> list[dict[str, Any]]:
    params = {"entity": entity}
    return list((await client.get("/api/sync/history", params=params)).json()["data"])


async def test_deleting_an_item_makes_its_conflict_obsolete(
    client: httpx.AsyncClient, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """An item deleted through the API keeps its conflict open until the next run, which
    closes it as obsolete (saying why), shows it in the item's history and stops counting
    it; the list's conflict stays open, and resolving the closed one is a 409."""
    list_id, item_id = await _two_conflicts(fake_external, local, run_sync)
    response = await client.delete(f"/api/todolists/{list_id}/items/{item_id}")
    assert response.status_code == 204
    assert await _open_count(client) == 2

    report = await run_sync()

    assert report.status == "ok"
    assert await _open_count(client) == 1
    assert set(await _conflicts(client, "open")) == {"list"}
    closed = (await _conflicts(client, "obsolete"))["item"]
    assert (closed["entity_id"], closed["field"], closed["status"]) == (
        item_id,
        "description",
        "obsolete",
    )
    resolution = closed["resolution"]
    assert_timestamp(resolution.pop("at"))
    assert resolution == {"by": "sync", "reason": "the item was deleted", "run_id": report.run_id}
    last = (await _history(client, f"item:{item_id}"))[-1]
    assert last == {
        "at": last["at"],
        "run_id": report.run_id,
        "action": "obsolete",
        "side": "ledger",
        "fields": ["description"],
    }
    detail = (await client.get(f"/api/sync/runs/{report.run_id}")).json()
    (entry,) = [e for e in detail["log"] if e["action"] == "obsolete"]
    assert entry["reason"] == "open conflicts closed as obsolete: the item was deleted"
    resolve = f"/api/sync/conflicts/{closed['id']}/resolve"
    assert_problem(await client.post(resolve, json={"choice": "local"}), 409)


async def test_deleting_a_list_makes_its_and_its_items_conflicts_obsolete(
    client: httpx.AsyncClient, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A list deleted through the API takes the conflicts of its items with it at the next
    run, each saying why; nothing stays open, and both entities' histories show it."""
    list_id, item_id = await _two_conflicts(fake_external, local, run_sync)
    assert (await client.delete(f"/api/todolists/{list_id}")).status_code == 204

    report = await run_sync()

    assert await _open_count(client) == 0
    assert await _conflicts(client, "open") == {}
    closed = await _conflicts(client, "obsolete")
    assert closed["list"]["resolution"]["reason"] == "the list was deleted"
    assert closed["item"]["resolution"]["reason"] == "its list was deleted"
    for entity, field in ((f"list:{list_id}", "name"), (f"item:{item_id}", "description")):
        last = (await _history(client, entity))[-1]
        assert (last["run_id"], last["action"], last["fields"]) == (
            report.run_id,
            "obsolete",
            [field],
        )


async def test_a_purged_item_makes_its_conflict_obsolete(
    client: httpx.AsyncClient,
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """An item whose tombstone the run pushes and then purges (no retention) is gone for
    good by the end of the run, and its conflict closes all the same."""
    list_id, item_id = await _two_conflicts(fake_external, local, run_sync)
    await local.delete_item(list_id, item_id)

    report = await run_sync(settings={"tombstone_retention_seconds": 0})

    async with sessionmaker() as session:
        assert await session.get(TodoItem, item_id) is None
    closed = (await _conflicts(client, "obsolete"))["item"]
    assert closed["resolution"]["reason"] == "the item was deleted"
    assert closed["resolution"]["run_id"] == report.run_id
    assert await _open_count(client) == 1


async def test_a_dry_run_leaves_the_conflicts_open(
    client: httpx.AsyncClient, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A dry run writes nothing: the conflicts of a deleted list wait for a real run."""
    list_id, _ = await _two_conflicts(fake_external, local, run_sync)
    await local.delete_list(list_id)

    dry = await run_sync(dry_run=True)

    assert dry.status == "ok"
    assert await _open_count(client) == 2
    assert all(e["action"] != "obsolete" for e in await _history(client, f"list:{list_id}"))


async def test_obsolete_conflicts_leave_the_metrics(
    sessionmaker: async_sessionmaker[AsyncSession],
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
) -> None:
    """The conflicts gauge of `/metrics` counts only the open ones."""
    list_id, _ = await _two_conflicts(fake_external, local, run_sync)
    async with sessionmaker() as session:
        assert (await metrics.read_snapshot(session)).conflicts_open == 2
    await local.delete_list(list_id)
    await run_sync()
    async with sessionmaker() as session:
        assert (await metrics.read_snapshot(session)).conflicts_open == 0


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` while the test runs."""
    with sent_statements(engine) as sent:
        yield sent


async def test_a_run_with_nothing_open_costs_one_statement(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    statements: list[str],
) -> None:
    """With no open conflict, closing obsolete ones costs one statement on the conflicts
    and no API call beyond the pull."""
    await local.create_list("Groceries", ["Milk"])
    await run_sync()
    fake_external.clear_requests()
    statements.clear()

    report = await run_sync()

    assert report.api_calls == 1
    assert len(fake_external.requests()) == 1
    touching = [s for s in statements if "sync_conflicts" in s]
    assert len(touching) == 1
    assert touching[0].lstrip().upper().startswith("UPDATE")
