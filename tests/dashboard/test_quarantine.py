"""The quarantine in a real browser: an entity with bad remote data, replayed once fixed."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.dashboard import browse
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide


async def test_a_replayed_entity_is_taken_by_the_next_run(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
    screenshot_dir: Path,
) -> None:
    """The page shows why a list was quarantined; after the remote side is fixed, "Replay"
    releases it and the next run imports it."""
    fake_external.load_state([{"id": "broken-list", "name": "Broken", "items": "oops"}])
    first = await browse.synced(api)
    assert first["counts"]["quarantined"] == 1
    await browse.sign_in(page, tenant.token)
    await expect(page.locator("#card-quarantine")).to_contain_text("1")
    await browse.go(page, "Quarantine")
    row = page.locator("#quarantine tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("broken-list")
    await expect(row).to_contain_text("items")
    await browse.screenshot(page, screenshot_dir, "quarantine")

    fake_external.load_state([{"id": "broken-list", "name": "Broken", "items": []}])
    await row.get_by_role("button", name="Replay").click()
    await expect(page.get_by_role("status")).to_contain_text("the next run tries it again")
    await expect(page.locator("#no-quarantine")).to_be_visible()

    run_id = await browse.sync_now(page)
    assert (await browse.finished_run(api, run_id))["status"] == "ok"
    assert list(await local.list_ids()) == ["Broken"]
    await expect(page.locator("#run-log")).to_contain_text("create")


async def test_replay_all_releases_every_entry(
    page: Page,
    tenant: TenantToken,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """ "Replay all" empties the quarantine."""
    fake_external.load_state(
        [{"id": "a", "name": "A", "items": "oops"}, {"id": "b", "name": 7, "items": []}]
    )
    assert (await browse.synced(api))["counts"]["quarantined"] == 2
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Quarantine")
    await expect(page.locator("#quarantine tbody tr")).to_have_count(2)

    await page.get_by_role("button", name="Replay all").click()

    await expect(page.get_by_role("status")).to_contain_text("2 entries released")
    await expect(page.locator("#no-quarantine")).to_be_visible()
    assert (await api.get("/api/sync/quarantine")).json()["data"] == []
