"""The mass-delete guard, ambiguous writes and remote duplicates, over real runs against the
fake: an empty or truncated pull deletes nothing, a single delete goes through, a write applied
but not answered converges without a duplicate, and two remote copies of one list become one."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_item_id, remote_list_id, remote_snapshot
from todosync.fake_external.faults import FaultKind

LISTS = 12


async def _many_synced(local: LocalSide, run_sync: RunSync) -> None:
    for i in range(LISTS):
        await local.create_list(f"List {i:02}", [f"item {i}"])
    assert (await run_sync()).status == "ok"


async def test_an_empty_pull_is_held_and_deletes_nothing(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """The remote side suddenly empty: the run is held with its reason, nothing is deleted
    here, and only `allow_mass_delete` lets the deletions through."""
    await _many_synced(local, run_sync)
    before = await local.snapshot()
    fake_external.load_state([])

    report = await run_sync()
    assert report.status == "held"
    assert report.reason is not None
    assert "no lists" in report.reason
    assert await local.snapshot() == before
    assert (await run_sync()).status == "held"  # run after run

    released = await run_sync(allow_mass_delete=True)
    assert released.status == "ok"
    assert await local.snapshot() == []


async def test_an_empty_pull_holds_only_what_it_holds_back(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """An empty pull whose mapped lists were all edited here deletes nothing, so it is not
    held: edits beat deletes and the lists go back out; the run is ok."""
    await local.create_list("Groceries", ["Milk", "Eggs"])
    assert (await run_sync()).status == "ok"
    fake_external.load_state([])
    await local.rename_list((await local.list_ids())["Groceries"], "Food")

    report = await run_sync()

    assert (report.status, report.reason) == ("ok", None)
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
    assert [todo["name"] for todo in fake_external.state()] == ["Food"]


async def test_a_truncated_pull_is_held_and_deletes_nothing(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A pull that lost most lists (a truncated answer that looks complete) is held; local
    edits still go out."""
    await _many_synced(local, run_sync)
    before = await local.snapshot()
    fake_external.load_state(fake_external.state()[:2])
    first = (await local.list_ids())["List 00"]
    await local.rename_list(first, "List 00 renamed")

    report = await run_sync()
    assert report.status == "held"
    assert report.reason is not None
    assert "local side" in report.reason
    assert len(await local.snapshot()) == len(before)
    assert "List 00 renamed" in [todo["name"] for todo in fake_external.state()]


async def test_a_pull_cut_short_by_a_failing_page_deletes_nothing(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """With paging, a later page that fails leaves the pull incomplete: no deletion at all."""
    await _many_synced(local, run_sync)
    before = await local.snapshot()
    fake_external.configure(page_size=5)
    fake_external.set_faults([FaultRule(kind="error", methods=["GET"], skip=1)])

    report = await run_sync()
    assert report.status in ("ok", "partial")
    assert await local.snapshot() == before


async def test_a_single_delete_is_not_held(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """One list deleted remotely is deleted here without any override."""
    await _many_synced(local, run_sync)
    fake_external.delete_list(remote_list_id(fake_external.state(), "List 03"))

    report = await run_sync()
    assert report.status == "ok"
    assert report.counts["local"]["deleted"] == 2
    assert "List 03" not in await local.list_ids()


@pytest.mark.parametrize("kind", ["applied_then_500", "applied_then_drop", "applied_then_hang"])
async def test_an_ambiguous_create_converges_without_a_duplicate(
    kind: FaultKind, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A POST applied but answered with a 500 or not at all is adopted by the next run, never
    created twice."""
    await local.create_list("Groceries", ["Milk", "Eggs"])
    fake_external.set_faults([FaultRule(kind=kind, methods=["POST"], hang_s=0.05)])
    assert (await run_sync()).status == "partial"
    assert len(fake_external.state()) == 1  # it landed

    fake_external.clear_faults()
    fake_external.clear_requests()
    report = await run_sync()
    assert report.status == "ok"
    assert fake_external.request_count("POST") == 0
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
    assert len(fake_external.state()) == 1


async def test_an_adopted_create_keeps_the_edits_each_side_made_since_it_landed(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A list POST that landed unanswered; then an item's text edited here and, later, its
    flag there: the adoption merges against what the POST sent (the history's state when the
    copy landed), so both edits survive, not only the later side's copy."""
    list_id = await local.create_list("Groceries", ["Milk", "Eggs"])
    fake_external.set_faults([FaultRule(kind="applied_then_500", methods=["POST"])])
    assert (await run_sync()).status == "partial"
    fake_external.clear_faults()
    milk = (await local.item_ids(list_id))["Milk"]
    await local.update_item(list_id, milk, description="Oat milk")
    await asyncio.sleep(0.01)  # the remote edit is strictly the later one
    state = fake_external.state()
    groceries = remote_list_id(state, "Groceries")
    fake_external.update_item(groceries, remote_item_id(state, "Groceries", "Milk"), completed=True)

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert await local.snapshot() == remote_snapshot(fake_external.state())
    assert ("Oat milk", True) in dict(await local.snapshot())["Groceries"]


async def test_an_ambiguous_update_and_delete_converge(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A PATCH and a DELETE applied but answered with a 500 settle on the next run."""
    keep = await local.create_list("Keep", ["a"])
    gone = await local.create_list("Gone", ["b"])
    await local.create_list("Spare", ["c"])
    assert (await run_sync()).status == "ok"
    await local.rename_list(keep, "Kept")
    await local.delete_list(gone)
    fake_external.set_faults([FaultRule(kind="applied_then_500", methods=["PATCH", "DELETE"])])
    assert (await run_sync(settings={"external_max_attempts": 1})).status == "partial"

    fake_external.clear_faults()
    assert (await run_sync()).status == "ok"
    assert await local.snapshot() == remote_snapshot(fake_external.state())
    assert sorted(await local.list_ids()) == ["Kept", "Spare"]


async def test_two_remote_copies_of_one_list_become_one(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A second remote list carrying a synced list's uid as `source_id` is deleted remotely
    and logged; the mapped one stays, and nothing is imported twice."""
    list_id = await local.create_list("Groceries", ["Milk"])
    await local.create_list("Spare")
    assert (await run_sync()).status == "ok"
    (source,) = [t["source_id"] for t in fake_external.state() if t["name"] == "Groceries"]
    fake_external.create_list("Groceries", items=["Milk"], source_id=source)

    report = await run_sync()
    assert report.status == "ok"
    assert report.counts["remote"]["deleted"] == 1
    assert [t["name"] for t in fake_external.state()].count("Groceries") == 1
    assert list(await local.list_ids()).count("Groceries") == 1
    assert (await local.list_ids())["Groceries"] == list_id


async def test_two_landed_copies_of_a_new_list_are_adopted_once(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Two remote copies of a list never recorded as created: one is adopted, the other
    deleted remotely."""
    list_id = await local.create_list("Groceries", ["Milk"])
    fake_external.set_faults([FaultRule(kind="applied_then_500", methods=["POST"])])
    assert (await run_sync()).status == "partial"
    (copy,) = fake_external.state()
    items = [
        {"description": i["description"], "completed": i["completed"], "source_id": i["source_id"]}
        for i in copy["items"]
    ]  # a second POST of the same list, as a retried create would make
    fake_external.create_list("Groceries", items=items, source_id=copy["source_id"])
    fake_external.clear_faults()

    report = await run_sync()
    assert report.status == "ok"
    assert len(fake_external.state()) == 1
    assert await local.list_ids() == {"Groceries": list_id}
    assert remote_snapshot(fake_external.state()) == await local.snapshot()


async def test_a_recreate_waits_while_a_change_of_its_list_failed(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """An item merge whose PATCH failed holds back its list's re-create (which would send the
    local list whole); the next run merges both edits and re-creates it."""
    list_id = await local.create_list("Groceries", ["Milk"])
    await local.create_list("Spare")
    assert (await run_sync()).status == "ok"
    state = fake_external.state()
    fake_external.update_item(
        remote_list_id(state, "Groceries"),
        remote_item_id(state, "Groceries", "Milk"),
        completed=True,
    )
    milk = (await local.item_ids(list_id))["Milk"]
    await local.update_item(list_id, milk, description="Oat milk")
    await local.add_item(list_id, "Eggs")  # no item endpoint: a re-create
    fake_external.set_faults([FaultRule(kind="error", methods=["PATCH"])])
    fake_external.clear_requests()

    assert (await run_sync()).status == "partial"
    assert fake_external.request_count("POST") == 0

    fake_external.clear_faults()
    assert (await run_sync()).status == "ok"
    expected = [("Groceries", [("Eggs", False), ("Oat milk", True)]), ("Spare", [])]
    assert await local.snapshot() == expected
    assert remote_snapshot(fake_external.state()) == expected
