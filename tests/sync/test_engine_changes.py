"""Edits, deletions and conflicts on either side converge, over real HTTP to the fake."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_item_id, remote_list_id, remote_snapshot
from todosync.store.models import Connection

Side = Literal["local", "remote"]
SIDES: list[Side] = ["local", "remote"]


async def _synced(
    fake: FakeExternal, local: LocalSide, run_sync: RunSync, items: list[str] | None = None
) -> int:
    """One list "Groceries" (with `items`) synced to both sides; returns its local id."""
    list_id = await local.create_list("Groceries", items or ["Milk", "Eggs"])
    # a second list, so that deleting the first never looks like an emptied remote side
    await local.create_list("Spare")
    report = await run_sync()
    assert report.status == "ok", report.errors
    fake.clear_requests()
    return list_id


async def _assert_converged(fake: FakeExternal, local: LocalSide) -> None:
    assert await local.snapshot() == remote_snapshot(fake.state())


async def _rename(
    side: Side, fake: FakeExternal, local: LocalSide, list_id: int, name: str
) -> None:
    if side == "local":
        await local.rename_list(list_id, name)
    else:
        fake.update_list(remote_list_id(fake.state(), "Groceries"), name=name)


async def _edit_item(
    side: Side, fake: FakeExternal, local: LocalSide, list_id: int, current: str, **fields: Any
) -> None:
    """Edits the item of "Groceries" whose description is `current` on one side."""
    if side == "local":
        item_id = (await local.item_ids(list_id))[current]
        await local.update_item(list_id, item_id, **fields)
    else:
        state = fake.state()
        fake.update_item(
            remote_list_id(state, "Groceries"),
            remote_item_id(state, "Groceries", current),
            **fields,
        )


@pytest.mark.parametrize("side", SIDES)
async def test_a_rename_reaches_the_other_side_with_one_call(
    side: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Renaming a list on one side renames it on the other: the pull plus at most one PATCH."""
    list_id = await _synced(fake_external, local, run_sync)
    await _rename(side, fake_external, local, list_id, "Shopping")

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.api_calls == (2 if side == "local" else 1)
    await _assert_converged(fake_external, local)
    assert (await local.list_ids()).keys() == {"Shopping", "Spare"}


@pytest.mark.parametrize("side", SIDES)
async def test_completing_an_item_reaches_the_other_side(
    side: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Completing an item on one side completes it on the other."""
    list_id = await _synced(fake_external, local, run_sync)
    await _edit_item(side, fake_external, local, list_id, "Milk", completed=True)

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert ("Milk", True) in (await local.snapshot())[0][1]


@pytest.mark.parametrize("side", SIDES)
async def test_deleting_an_item_deletes_it_on_the_other_side(
    side: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """An item deleted on one side is deleted on the other, and stays deleted."""
    list_id = await _synced(fake_external, local, run_sync)
    if side == "local":
        await local.delete_item(list_id, (await local.item_ids(list_id))["Milk"])
    else:
        state = fake_external.state()
        fake_external.delete_item(
            remote_list_id(state, "Groceries"), remote_item_id(state, "Groceries", "Milk")
        )

    first = await run_sync()
    second = await run_sync()

    assert first.status == second.status == "ok"
    assert second.api_calls == 1
    await _assert_converged(fake_external, local)
    assert (await local.snapshot())[0][1] == [("Eggs", False)]


@pytest.mark.parametrize("side", SIDES)
async def test_deleting_a_list_takes_its_items_on_both_sides(
    side: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A list deleted on one side disappears with all its items on the other."""
    list_id = await _synced(fake_external, local, run_sync)
    if side == "local":
        await local.delete_list(list_id)
    else:
        fake_external.delete_list(remote_list_id(fake_external.state(), "Groceries"))

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert "Groceries" not in await local.list_ids()


@pytest.mark.parametrize("first", SIDES)
async def test_different_fields_edited_on_both_sides_both_survive(
    first: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """One side edits an item's text, the other completes it: the result has both, no conflict."""
    list_id = await _synced(fake_external, local, run_sync)
    other: Side = "remote" if first == "local" else "local"
    await _edit_item(first, fake_external, local, list_id, "Milk", description="Oat milk")
    await _edit_item(other, fake_external, local, list_id, "Milk", completed=True)

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.counts["conflicts"] == 0
    await _assert_converged(fake_external, local)
    assert ("Oat milk", True) in (await local.snapshot())[0][1]


@pytest.mark.parametrize("later", SIDES)
async def test_the_later_write_wins_a_conflict_and_it_is_recorded(
    later: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """The same field edited on both sides takes the later value; a conflict stays for review."""
    list_id = await _synced(fake_external, local, run_sync)
    earlier: Side = "remote" if later == "local" else "local"
    await _rename(earlier, fake_external, local, list_id, f"by {earlier}")
    # a later millisecond: writes in the same one tie, and a tie goes to the remote side
    await asyncio.sleep(0.01)
    await _rename(later, fake_external, local, list_id, f"by {later}")

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.counts["conflicts"] == 1
    await _assert_converged(fake_external, local)
    assert (await local.list_ids()).keys() == {f"by {later}", "Spare"}
    (conflict,) = await local.conflicts()
    assert (conflict.field, conflict.winner, conflict.status) == ("name", later, "open")
    assert (conflict.base, conflict.local, conflict.remote) == (
        "Groceries",
        "by local",
        "by remote",
    )


async def test_an_item_edited_here_and_deleted_remotely_comes_back(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Edits beat deletes: the edited item is sent again, nothing is lost and nothing doubled."""
    list_id = await _synced(fake_external, local, run_sync)
    await _edit_item("local", fake_external, local, list_id, "Milk", description="Milk!")
    state = fake_external.state()
    fake_external.delete_item(
        remote_list_id(state, "Groceries"), remote_item_id(state, "Groceries", "Milk")
    )

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert (await local.snapshot())[0][1] == [("Eggs", False), ("Milk!", False)]
    assert len(fake_external.state()) == 2  # "Groceries" once, and "Spare"


async def test_a_list_edited_remotely_and_deleted_here_comes_back(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Edits beat deletes the other way round too: the remote edit re-creates the list here."""
    list_id = await _synced(fake_external, local, run_sync)
    fake_external.update_list(remote_list_id(fake_external.state(), "Groceries"), name="Kept")
    await local.delete_list(list_id)

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert (await local.list_ids()).keys() == {"Kept", "Spare"}


async def test_a_new_item_in_a_synced_list_recreates_it_without_loss(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """With no item endpoint the list is re-created: one remote copy, every item, old one gone."""
    list_id = await _synced(fake_external, local, run_sync)
    old_remote_id = remote_list_id(fake_external.state(), "Groceries")
    await local.add_item(list_id, "Bread")

    report = await run_sync()
    again = await run_sync()

    assert report.status == "ok", report.errors
    assert report.api_calls == 3  # GET, POST of the new copy, DELETE of the old one
    assert again.api_calls == 1
    await _assert_converged(fake_external, local)
    (groceries,) = [t for t in fake_external.state() if t["name"] == "Groceries"]
    assert groceries["id"] != old_remote_id
    assert len(fake_external.state()) == 2
    assert len(groceries["items"]) == 3


async def test_a_new_item_uses_the_item_endpoint_when_offered(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """With the item-create extension on and configured, a new item costs one POST."""
    fake_external.configure(item_create=True)
    list_id = await _synced(fake_external, local, run_sync)
    old_remote_id = remote_list_id(fake_external.state(), "Groceries")
    await local.add_item(list_id, "Bread")

    report = await run_sync(settings={"use_item_create_extension": True})

    assert report.status == "ok", report.errors
    assert report.api_calls == 2
    assert remote_list_id(fake_external.state(), "Groceries") == old_remote_id
    await _assert_converged(fake_external, local)


async def test_a_new_remote_item_in_a_synced_list_is_imported(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """An item added remotely to a synced list appears locally."""
    await _synced(fake_external, local, run_sync)
    fake_external.add_item(remote_list_id(fake_external.state(), "Groceries"), "Butter")

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.api_calls == 1
    await _assert_converged(fake_external, local)


@pytest.mark.parametrize("offset_s", [300.0, -300.0])
async def test_the_really_later_write_wins_despite_a_skewed_remote_clock(
    offset_s: float, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """With the remote clock 5 minutes off either way, the write made later in real time wins."""
    fake_external.configure(clock_offset_s=offset_s)
    list_id = await _synced(fake_external, local, run_sync)
    await _rename("local", fake_external, local, list_id, "first")
    # the skew is measured from `Date`, to the second: writes further apart are ordered right
    await asyncio.sleep(1.5)
    await _rename("remote", fake_external, local, list_id, "second")

    report = await run_sync()

    assert report.clock_skew_s is not None
    assert abs(report.clock_skew_s - offset_s) < 5
    assert (await local.list_ids()).keys() == {"second", "Spare"}
    await _assert_converged(fake_external, local)


async def test_unicode_and_long_texts_survive_the_round_trip(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Non-ASCII, emoji and 10,000-character texts arrive unchanged on both sides."""
    long_text = "ü" * 10_000
    await local.create_list("Einkäufe 🛒 日本語", [long_text, "ça va\nbien"])
    fake_external.create_list("Ωmega \u200b list", items=["🙂" * 500])

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert len(await local.snapshot()) == 2


async def test_a_per_list_sync_leaves_other_lists_alone(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """`--list` pushes only that list; other lists and remote changes elsewhere wait."""
    chosen = await local.create_list("Chosen", ["a"])
    await local.create_list("Other", ["b"])
    fake_external.create_list("Remote only")

    report = await run_sync(list_id=chosen)

    assert report.status == "ok", report.errors
    assert {t["name"] for t in fake_external.state()} == {"Remote only", "Chosen"}
    assert (await local.list_ids()).keys() == {"Chosen", "Other"}
    assert len(fake_external.state()) == 2


async def test_a_change_pulled_by_a_per_list_sync_still_reaches_the_other_lists(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A `--list` run does not vouch for the lists it leaves alone: a remote change to another
    list, pulled by it, is still found by the next full run (which may pass over a pull it
    has seen whole only when every list's digest was checked against it)."""
    chosen = await local.create_list("Chosen", ["a"])
    await local.create_list("Other", ["b"])
    await run_sync()
    assert (await run_sync()).status == "ok"  # nothing to do: the pull's digest is recorded
    state = fake_external.state()
    fake_external.update_item(
        remote_list_id(state, "Other"), remote_item_id(state, "Other", "b"), description="B"
    )
    assert (await run_sync(list_id=chosen)).status == "ok"

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert dict(await local.snapshot())["Other"] == [("B", False)]
    await _assert_converged(fake_external, local)


async def test_a_dry_run_changes_nothing_and_plans_what_the_real_run_does(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A dry run makes only the pull, writes nothing, and its plan matches the next real run."""
    list_id = await _synced(fake_external, local, run_sync)
    await _rename("remote", fake_external, local, list_id, "Renamed")
    await local.create_list("New here", ["x"])
    fake_external.clear_requests()
    before_local, before_remote = await local.snapshot(), fake_external.state()

    dry = await run_sync(dry_run=True)

    assert dry.api_calls == 1
    assert [r.method for r in fake_external.requests()] == ["GET"]
    assert await local.snapshot() == before_local
    assert fake_external.state() == before_remote
    assert dry.plan is not None
    real = await run_sync()
    planned = sorted((p["kind"], p["side"], p["action"]) for p in dry.plan)
    assert planned == sorted([("list", "local", "update"), ("list", "remote", "create")])
    # the dry run's counts are its planned actions, one per action and side
    assert (dry.counts["local"]["updated"], dry.counts["remote"]["created"]) == (1, 1)
    assert sum(dry.counts["local"].values()) + sum(dry.counts["remote"].values()) == 2
    assert real.counts["local"]["updated"] == 1
    assert real.counts["remote"]["created"] == 2


async def test_a_planned_recreate_says_why(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A new local item in a list that exists remotely plans a recreate whose entry says, in
    words, why the list is created anew."""
    list_id = await _synced(fake_external, local, run_sync)
    await local.add_item(list_id, "Bread")

    dry = await run_sync(dry_run=True)

    assert dry.plan is not None
    (recreate,) = [p for p in dry.plan if p["action"] == "recreate"]
    assert "cannot add an item to an existing list" in recreate["reason"]
    assert dry.counts["remote"]["created"] == 1


@pytest.mark.parametrize("side", SIDES)
async def test_an_item_changed_and_changed_back_converges(
    side: Side, fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """An item changed on one side, synced, then changed back remotely ends at the last value:
    what an unchanged list's digest vouched for before the change does not outlive it."""
    list_id = await _synced(fake_external, local, run_sync)
    await run_sync()  # nothing to do: the lists are passed over by their digests
    await _edit_item(side, fake_external, local, list_id, "Milk", description="Oat milk")
    assert (await run_sync()).status == "ok"
    await _edit_item("remote", fake_external, local, list_id, "Oat milk", description="Milk")

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert ("Milk", False) in (await local.snapshot())[0][1]


async def test_a_run_with_nothing_to_do_counts_every_entity_unchanged(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """Lists passed over whole (by their digest) still count each of their items as skipped."""
    fake_external.create_list("Groceries", items=["Milk", "Eggs", "Bread"])
    fake_external.create_list("Chores", items=["Dishes"])
    await run_sync()

    report = await run_sync()

    assert report.status == "ok", report.errors
    assert report.counts["skipped"] == 2 + 4


async def test_a_remote_copy_of_an_item_of_an_unchanged_list_is_removed(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A remote item carrying the uid of an item mapped in another, unchanged list is a
    duplicate: it is deleted remotely, not imported, though that list is passed over."""
    await _synced(fake_external, local, run_sync)
    await run_sync()
    state = fake_external.state()
    milk = remote_item_id(state, "Groceries", "Milk")
    groceries = next(tl for tl in state if tl["name"] == "Groceries")
    milk_uid = next(i["source_id"] for i in groceries["items"] if i["id"] == milk)
    fake_external.add_item(remote_list_id(state, "Spare"), "Milk", source_id=milk_uid)

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    assert (await local.snapshot())[1] == ("Spare", [])


async def test_a_local_edit_made_while_the_pull_is_in_flight_is_not_lost(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """The run reads the local side while its pull is in flight: an edit made during the pull
    may miss this run, and then the next one carries it over (it is never taken as synced)."""
    list_id = await _synced(fake_external, local, run_sync)
    await run_sync()  # the lists' digests are recorded: the next run may pass them over
    fake_external.set_faults([FaultRule(kind="latency", methods=["GET"], latency_ms=500)])
    running = asyncio.ensure_future(run_sync())
    await asyncio.to_thread(fake_external.wait_for_requests, 1, method="GET")
    await _edit_item("local", fake_external, local, list_id, "Milk", description="Oat milk")
    assert (await running).status == "ok"
    fake_external.clear_faults()

    report = await run_sync()

    assert report.status == "ok", report.errors
    await _assert_converged(fake_external, local)
    groceries = next(tl for tl in fake_external.state() if tl["name"] == "Groceries")
    assert "Oat milk" in {item["description"] for item in groceries["items"]}


async def test_the_pull_digest_changes_with_the_pull_and_only_then(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A run over all lists records the digest of its pull; the same bytes again leave it as
    it is (no write), a change on the remote side gives a new one."""

    async def recorded() -> str | None:
        async with sessionmaker() as session:
            return await session.scalar(sa.select(Connection.pull_digest))

    list_id = await _synced(fake_external, local, run_sync)
    pushed = await recorded()  # the pull that came before the pushes
    await run_sync()
    first = await recorded()
    await run_sync()
    assert first is not None
    assert first != pushed
    assert await recorded() == first

    await _edit_item("remote", fake_external, local, list_id, "Milk", description="Oat milk")
    await run_sync()
    assert await recorded() not in (None, first)
