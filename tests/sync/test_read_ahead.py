"""The lists a first export POSTs are read a group at a time (`sync.apply.read_ahead`), not
one read per list."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.fake_external import FakeExternal
from tests.fixtures.statements import sent_statements
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_snapshot
from todosync.sync.apply import read_ahead

LISTS = 40


async def test_lists_to_post_are_read_in_groups(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync, engine: AsyncEngine
) -> None:
    """Forty new lists cost three reads of lists and three of their items (groups of 16),
    not forty of each, and arrive whole on the remote side."""
    for i in range(LISTS):
        await local.create_list(f"List {i:02}", [f"a {i}", f"b {i}"])
    with sent_statements(engine) as sent:
        report = await run_sync()
    assert report.status == "ok"
    assert report.api_calls == 1 + LISTS
    groups = -(-LISTS // read_ahead.GROUP)
    reads_of_lists = [s for s in sent if "todo_lists.id IN" in s]
    reads_of_items = [s for s in sent if "todo_items.list_id IN" in s]
    assert (len(reads_of_lists), len(reads_of_items)) == (groups, groups)
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
