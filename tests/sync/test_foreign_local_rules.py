"""Pulled data meets the local API's rules: names of 1 to 1,000 characters, descriptions of 1
to 10,000, no NUL. What breaks them is quarantined one entity at a time with the rule as its
reason, on SQLite and PostgreSQL alike, and its valid siblings sync as usual."""

from __future__ import annotations

import copy
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide
from todosync.sync.books.models import SyncQuarantine


def _item(item_id: str, description: str) -> dict[str, Any]:
    stamp = "2026-12-01T10:00:00.123Z"
    return {
        "id": item_id,
        "description": description,
        "completed": False,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _list(list_id: str, name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    stamp = "2026-12-01T10:00:00.123Z"
    return {"id": list_id, "name": name, "created_at": stamp, "updated_at": stamp, "items": items}


def _foreign_state() -> list[dict[str, Any]]:
    """What a server that checks nothing may hold: an empty description, a NUL, a name one
    character too long, each beside valid siblings."""
    return [
        _list(
            "9b2f-a",
            "Groceries",
            [_item("i-1", "Milk"), _item("i-2", ""), _item("i-3", "Eggs\x00"), _item("i-4", "Tea")],
        ),
        _list("9b2f-b", "x" * 1_001, [_item("i-5", "Sweep")]),
        _list("9b2f-c", "Books", [_item("i-6", "d" * 10_000)]),
    ]


async def _quarantined(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessionmaker() as session:
        rows = await session.execute(sa.select(SyncQuarantine.external_id, SyncQuarantine.reason))
        return dict(rows.all())


async def test_pulled_text_that_breaks_the_local_rules_is_quarantined_one_by_one(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """An empty description, a NUL and a 1,001-character name are quarantined with the rule
    as reason; the valid items of the same list and the valid lists are imported."""
    fake_external.load_state(_foreign_state())

    report = await run_sync()

    assert report.status == "partial"
    assert report.counts["quarantined"] == 3
    reasons = await _quarantined(sessionmaker)
    assert sorted(reasons) == ["9b2f-b", "i-2", "i-3"]
    assert "description" in reasons["i-2"]
    assert "1 to 10000" in reasons["i-2"]
    assert "NUL" in reasons["i-3"]
    assert "name" in reasons["9b2f-b"]
    assert "1 to 1000" in reasons["9b2f-b"]
    assert all("x" * 20 not in reason for reason in reasons.values())  # never the text
    lists = await local.list_ids()
    assert sorted(lists) == ["Books", "Groceries"]
    assert sorted(await local.item_ids(lists["Groceries"])) == ["Milk", "Tea"]
    assert list(await local.item_ids(lists["Books"])) == ["d" * 10_000]  # at the limit: valid


async def test_refused_remote_data_is_never_deleted_and_imports_once_fixed(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A second run leaves the refused entities on the remote side untouched; fixed remotely,
    they are imported and leave the quarantine."""
    fake_external.load_state(_foreign_state())
    await run_sync()
    report = await run_sync()
    assert report.counts["quarantined"] == 3
    state = fake_external.state()
    assert [len(todo["items"]) for todo in state] == [4, 1, 1]
    assert fake_external.request_count("DELETE") == 0

    fixed = copy.deepcopy(state)
    fixed[0]["items"][1]["description"] = "Bread"
    fixed[0]["items"][2]["description"] = "Eggs"
    fixed[1]["name"] = "Chores"
    fake_external.load_state(fixed)
    report = await run_sync()

    assert report.status == "ok", report.errors
    assert await _quarantined(sessionmaker) == {}
    lists = await local.list_ids()
    assert sorted(lists) == ["Books", "Chores", "Groceries"]
    assert sorted(await local.item_ids(lists["Groceries"])) == ["Bread", "Eggs", "Milk", "Tea"]
