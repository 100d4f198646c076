"""The ledger rows a run reads back (`ledger.load_rows`) after a real import."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from todosync.store.models import DEFAULT_CONNECTION_ID
from todosync.sync.books import ledger


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
