"""The sync cycle end to end over real HTTP: imports, exports, edits, deletes, call budget."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_snapshot


async def test_first_import_creates_everything_locally_with_one_call(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Remote lists and items appear locally after one sync that makes one request."""
    fake_external.create_list(
        "Groceries", items=["Milk", {"description": "Eggs", "completed": True}]
    )
    fake_external.create_list("Empty")

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.api_calls == 1
    assert await local.snapshot() == remote_snapshot(fake_external.state())
    assert report.counts["local"]["created"] == 4


async def test_first_export_posts_each_list_once_with_its_items(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Local lists go out as one POST each, carrying their items and the local uid."""
    await local.create_list("Work", ["Report", ("Mail", True)])
    await local.create_list("Home", ["Dishes"])

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.api_calls == 3
    assert fake_external.request_count("POST") == 2
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
    assert all(todo.get("source_id") for todo in fake_external.state())


async def test_a_sync_with_nothing_to_do_costs_exactly_one_call(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """After changes on both sides are synced, the next sync makes one GET and nothing else."""
    fake_external.create_list("Remote", items=["a", "b"])
    await local.create_list("Local", ["c"])
    await run_sync()
    fake_external.clear_requests()

    report = await run_sync()

    assert report.status == "ok"
    assert report.api_calls == 1
    assert [r.method for r in fake_external.requests()] == ["GET"]


async def test_a_bulk_import_refreshes_the_planner_statistics_on_postgresql(
    fake_external: FakeExternal,
    run_sync: RunSync,
    is_postgres: bool,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """After importing thousands of items the tables are analysed, so the next run's join
    is planned on real row counts (without it PostgreSQL chose a quadratic nested loop)."""
    if not is_postgres:
        pytest.skip("SQLite's planner keeps no statistics that a bulk import leaves stale")
    for n in range(50):
        fake_external.create_list(f"List {n}", items=[f"Item {i}" for i in range(100)])
    before = await _last_analyze(sessionmaker, "todo_items")

    report = await run_sync()

    assert report.counts["local"]["created"] == 5_050, report.errors
    after = await _last_analyze(sessionmaker, "todo_items")
    assert after is not None
    assert before is None or after > before


async def _last_analyze(sessionmaker: async_sessionmaker[AsyncSession], table: str) -> Any:
    """When `table` was last analysed on demand (autovacuum's analyses are counted apart)."""
    async with sessionmaker() as session:
        return await session.scalar(
            sa.text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = :table"),
            {"table": table},
        )
