"""The ledger rows a run reads back (`ledger.load_rows`) and the log an import writes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from todosync.store.models import DEFAULT_CONNECTION_ID
from todosync.sync.books import ledger
from todosync.sync.books.models import SyncLog


async def test_item_rows_share_their_list_values_and_keep_their_own(
    fake_external: FakeExternal,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Values that repeat down the rows are one object each (the memory of a 100k run),
    and every row still holds its own list, ids and snapshot."""
    groceries = fake_external.create_list("Groceries", items=["Milk", "Eggs", "Bread"])
    work = fake_external.create_list("Work", items=["Report", "Mail"])
    assert (await run_sync()).status == "ok"

    async with sessionmaker() as session:
        rows = await ledger.load_rows(session, connection_id=DEFAULT_CONNECTION_ID)

    lists = {row.external_id: row for row in rows if row.kind == "list"}
    items = [row for row in rows if row.kind == "item"]
    assert set(lists) == {groceries["id"], work["id"]}
    assert sorted(r.snapshot()["description"] for r in items) == sorted(
        ["Milk", "Eggs", "Bread", "Report", "Mail"]
    )
    for external_id, list_row in lists.items():
        of_list = [row for row in items if row.parent_external_id == external_id]
        assert len(of_list) == (3 if external_id == groceries["id"] else 2)
        assert {row.parent_local_id for row in of_list} == {list_row.local_id}
        assert len({id(row.parent_external_id) for row in of_list}) == 1
        assert len({id(row.parent_local_id) for row in of_list}) == 1
    assert len({id(row.kind) for row in items}) == 1
    assert len({row.local_uid for row in items}) == len(items)


async def test_an_import_logs_one_create_per_entity_with_both_ids(
    fake_external: FakeExternal,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Every list and item a first import creates has its log entry, naming the local and the
    external id that the ledger pairs, and the fields it set."""
    fake_external.create_list("Groceries", items=["Milk", "Eggs"])
    fake_external.create_list("Work", items=["Report"])
    report = await run_sync()
    assert report.status == "ok"

    async with sessionmaker() as session:
        rows = await ledger.load_rows(session, connection_id=DEFAULT_CONNECTION_ID)
        log = (
            await session.execute(
                sa.select(
                    SyncLog.kind,
                    SyncLog.local_id,
                    SyncLog.external_id,
                    SyncLog.action,
                    SyncLog.side,
                    SyncLog.fields,
                    SyncLog.outcome,
                ).where(SyncLog.run_id == report.run_id)
            )
        ).all()

    fields = {"list": ["name"], "item": ["description", "completed"]}
    assert sorted(log) == sorted(
        (r.kind, r.local_id, r.external_id, "create", "local", fields[r.kind], "ok") for r in rows
    )
