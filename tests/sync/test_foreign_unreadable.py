"""A sync never deletes remote data it could not read: a re-create or a delete of a remote
list that holds quarantined items is held (run `partial`, the reason names the list and the
items) until the items are fixed remotely or the operator allows it."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide
from todosync.sync.books.models import SyncQuarantine

_STAMP = "2026-12-01T10:00:00.123Z"


def _item(item_id: str, description: Any, completed: Any = False) -> dict[str, Any]:
    return {
        "id": item_id,
        "description": description,
        "completed": completed,
        "created_at": _STAMP,
        "updated_at": _STAMP,
    }


def _state() -> list[dict[str, Any]]:
    """One list of four valid items and two that no sync can read (nulls)."""
    items = [_item(f"ok-{n}", f"Item {n}") for n in range(4)]
    items += [_item("bad-1", "Milk", completed=None), _item("bad-2", None)]
    return [
        {
            "id": "L-1",
            "name": "Groceries",
            "created_at": _STAMP,
            "updated_at": _STAMP,
            "items": items,
        }
    ]


async def _quarantined(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(sa.select(SyncQuarantine.external_id))
        return sorted(rows.scalars())


async def _imported(fake_external: FakeExternal, local: LocalSide, run_sync: RunSync) -> int:
    fake_external.load_state(_state())
    report = await run_sync()
    assert report.status == "partial"  # the two unreadable items are new to the quarantine
    lists = await local.list_ids()
    assert sorted(await local.item_ids(lists["Groceries"])) == [f"Item {n}" for n in range(4)]
    return lists["Groceries"]


async def test_a_recreate_that_would_drop_unreadable_items_is_held(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A new local item in a list with quarantined remote items does not re-create the list:
    nothing is posted or deleted remotely, the run is partial and says why, run after run,
    and the quarantine keeps its rows."""
    list_id = await _imported(fake_external, local, run_sync)
    await local.add_item(list_id, "Bread")
    fake_external.clear_requests()

    for _ in range(2):
        report = await run_sync()
        assert report.status == "partial"
        (error,) = report.errors
        assert error["entity"] == f"list:{list_id}"
        assert "re-create held" in error["reason"]
        assert "L-1" in error["reason"]
        assert "bad-1" in error["reason"]
        assert "bad-2" in error["reason"]

    assert fake_external.request_count("POST") == 0
    assert fake_external.request_count("DELETE") == 0
    assert fake_external.state() == _state()
    assert await _quarantined(sessionmaker) == ["bad-1", "bad-2"]


async def test_fixed_items_let_the_held_recreate_go_and_nothing_is_lost(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Once the items are fixed remotely, the next run imports them and re-creates the list
    with every item, the new local one included."""
    list_id = await _imported(fake_external, local, run_sync)
    await local.add_item(list_id, "Bread")
    await run_sync()
    fixed = copy.deepcopy(fake_external.state())
    fixed[0]["items"][4]["completed"] = True
    fixed[0]["items"][5]["description"] = "Tea"
    fake_external.load_state(fixed)

    report = await run_sync()
    if report.status != "ok":  # the fixed items are imported first; the re-create follows
        report = await run_sync()

    assert report.status == "ok", report.errors
    (remote,) = fake_external.state()
    assert remote["id"] != "L-1"
    assert sorted(item["description"] for item in remote["items"]) == [
        "Bread",
        "Item 0",
        "Item 1",
        "Item 2",
        "Item 3",
        "Milk",
        "Tea",
    ]


async def test_allow_mass_delete_releases_the_recreate(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The operator's explicit release re-creates the list without the unreadable items,
    which are then gone on both sides, and their quarantine rows with them."""
    list_id = await _imported(fake_external, local, run_sync)
    await local.add_item(list_id, "Bread")

    report = await run_sync(allow_mass_delete=True)

    assert report.status == "ok", report.errors
    (remote,) = fake_external.state()
    assert len(remote["items"]) == 5
    assert (await run_sync()).status == "ok"  # the next complete pull finds them gone
    assert await _quarantined(sessionmaker) == []


async def test_a_local_delete_of_a_list_with_unreadable_items_is_held(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Deleting the list here does not delete the remote copy that holds unreadable items
    (they may be edits, and edits beat deletes): partial, with the reason."""
    list_id = await _imported(fake_external, local, run_sync)
    await local.delete_list(list_id)
    fake_external.clear_requests()

    report = await run_sync()

    assert report.status == "partial"
    (error,) = report.errors
    assert "delete held" in error["reason"]
    assert fake_external.request_count("DELETE") == 0
    assert fake_external.state() == _state()


async def test_against_a_server_that_checks_nothing_the_recreate_is_held(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The reported case through the public API of a server without validation: another
    client posts two items with nulls; a new local item then holds the re-create, and the
    remote list keeps all six items."""
    fake_external.configure(validation=False)
    items: list[dict[str, Any]] = [{"description": f"Item {n}"} for n in range(4)]
    items += [{"description": "Milk", "completed": None}, {"description": None}]
    headers = fake_external.auth_headers()
    async with httpx.AsyncClient(base_url=fake_external.url, headers=headers) as http:
        body = {"name": "Groceries", "items": items}
        posted = (await http.post("/todolists", json=body)).json()
    await run_sync()
    list_id = (await local.list_ids())["Groceries"]
    await local.add_item(list_id, "Bread")

    report = await run_sync()

    assert report.status == "partial"
    assert posted["id"] in report.errors[0]["reason"]
    (remote,) = fake_external.state()
    assert remote["id"] == posted["id"]
    assert len(remote["items"]) == 6
    assert len(await _quarantined(sessionmaker)) == 2


async def test_a_rename_of_a_list_with_unreadable_items_goes_through(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """The rename's answer carries the unreadable items too; the rename still lands, and the
    run is ok (the items were quarantined before it)."""
    list_id = await _imported(fake_external, local, run_sync)
    await local.rename_list(list_id, "Food")

    report = await run_sync()

    assert (report.status, report.errors) == ("ok", [])
    (remote,) = fake_external.state()
    assert (remote["name"], len(remote["items"])) == ("Food", 6)
