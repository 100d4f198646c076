"""Servers that bump a list's `updated_at` whenever one of its items changes: a list's time
then says nothing of when its name changed, and a rename made here later than the remote
rename is not beaten by that time."""

from __future__ import annotations

import asyncio

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_item_id, remote_list_id


async def test_an_item_write_that_moved_the_list_time_does_not_decide_a_rename(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Remote rename, then a later local rename, then a remote item edit that bumps the
    list: the local rename wins, and the conflict stays open for review."""
    fake_external.configure(bump_list_on_item_change=True)
    list_id = await local.create_list("Groceries", ["Milk"])
    assert (await run_sync()).status == "ok"
    state = fake_external.state()
    remote_id = remote_list_id(state, "Groceries")
    item_id = remote_item_id(state, "Groceries", "Milk")

    fake_external.update_list(remote_id, name="Food")
    await asyncio.sleep(0.02)
    await local.rename_list(list_id, "Shopping")
    await asyncio.sleep(0.02)
    fake_external.update_item(remote_id, item_id, completed=True)

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert [todo["name"] for todo in fake_external.state()] == ["Shopping"]
    assert list(await local.list_ids()) == ["Shopping"]
    (conflict,) = await local.conflicts()
    assert (conflict.field, conflict.winner, conflict.status) == ("name", "local", "open")
    assert (conflict.local, conflict.remote) == ("Shopping", "Food")


async def test_with_every_quirk_on_normal_use_holds_and_idle_costs_one_call(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A server that checks nothing, bumps lists with their items and bumps on empty
    PATCHes: edits on both sides converge, and a run with nothing to do makes one call."""
    fake_external.configure(validation=False, bump_list_on_item_change=True, empty_patch_bumps=True)
    list_id = await local.create_list("Groceries", ["Milk", "Eggs"])
    fake_external.create_list("Chores", items=["Sweep"])
    assert (await run_sync()).status == "ok"
    state = fake_external.state()
    await local.update_item(list_id, (await local.item_ids(list_id))["Milk"], completed=True)
    chores = remote_list_id(state, "Chores")
    fake_external.update_item(chores, remote_item_id(state, "Chores", "Sweep"), description="Mop")
    assert (await run_sync()).status == "ok"

    fake_external.clear_requests()
    idle = await run_sync()

    assert (idle.status, idle.api_calls) == ("ok", 1)
    assert fake_external.request_count() == 1
