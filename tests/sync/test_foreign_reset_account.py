"""An external account that was reset (wiped, or restored from an old backup): the guard holds
the run, and `restore_remote` is the other way on: the local side is the truth for what is
missing remotely, pushed again and relinked, while what exists on both sides is kept."""

from __future__ import annotations

import httpx

from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_snapshot

LISTS = 12


async def _synced(local: LocalSide, run_sync: RunSync) -> None:
    for i in range(LISTS):
        await local.create_list(f"List {i:02}", [f"item {i}", f"other {i}"])
    assert (await run_sync()).status == "ok"


async def test_a_wiped_account_is_held_then_restored_from_here(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """After a wipe the run is held; a restoring run creates every list again with its
    items, deletes nothing here, and the next run is idle (one call)."""
    await _synced(local, run_sync)
    before = await local.snapshot()
    fake_external.load_state([])
    assert (await run_sync()).status == "held"

    report = await run_sync(restore_remote=True)

    assert report.status == "ok", report.errors
    assert report.counts["remote"]["created"] == LISTS * 3  # each list with its two items
    assert report.counts["local"]["deleted"] == 0
    assert await local.snapshot() == before
    assert remote_snapshot(fake_external.state()) == before
    fake_external.clear_requests()
    idle = await run_sync()
    assert (idle.status, idle.api_calls) == ("ok", 1)


async def test_an_old_backup_keeps_what_both_sides_hold_and_restores_the_rest(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync
) -> None:
    """A remote side restored from a backup that lacks most lists and one item: the restore
    pushes back what is missing, keeps the remote copies that exist (with a remote edit made
    since), and imports what only the backup has."""
    await _synced(local, run_sync)
    # by name: the first sync's POSTs run concurrently, so the fake holds them in any order
    by_name = {todo["name"]: todo for todo in fake_external.state()}
    kept = [by_name["List 00"], by_name["List 01"]]
    kept[0]["name"] = "List 00 edited remotely"
    kept[1]["items"] = kept[1]["items"][:1]
    backup_only = {"id": "from-backup", "name": "Only in the backup", "items": []}
    fake_external.load_state([*kept, backup_only])
    assert (await run_sync()).status == "held"

    report = await run_sync(restore_remote=True)

    assert report.status == "ok", report.errors
    lists = await local.list_ids()
    assert "List 00 edited remotely" in lists
    assert "Only in the backup" in lists
    assert sorted(await local.item_ids(lists["List 01"])) == ["item 1", "other 1"]
    assert len(lists) == LISTS + 1
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
    kept_ids = {todo["id"] for todo in fake_external.state()}
    assert {kept[0]["id"], "from-backup"} <= kept_ids  # relinked, not re-created


async def test_the_api_queues_a_restoring_run(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync, client: httpx.AsyncClient
) -> None:
    """`POST /api/sync` with `restore_remote` queues a run that carries the flag (a plain
    trigger does not join it)."""
    plain = await client.post("/api/sync", json={"delay_seconds": 60})
    restoring = await client.post("/api/sync", json={"delay_seconds": 60, "restore_remote": True})
    assert plain.status_code == restoring.status_code == 202
    assert plain.json()["run_id"] != restoring.json()["run_id"]
    again = await client.post("/api/sync", json={"delay_seconds": 60, "restore_remote": True})
    assert again.json()["run_id"] == restoring.json()["run_id"]
