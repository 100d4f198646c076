"""The conflict inbox in a real browser: per-field resolution, its audit trail, and the
next run pushing the chosen values; dismissing a conflict, and the obsolete ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.dashboard import browse
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide, remote_item_id, remote_list_id


async def _two_conflicts(
    local: LocalSide, fake_external: FakeExternal, api: httpx.AsyncClient
) -> tuple[int, int]:
    """A list name and an item description changed on both sides (remote later, so it wins
    both); returns the local list and item ids."""
    list_id = await local.create_list("Groceries", ["Milk"])
    (item_id,) = (await local.item_ids(list_id)).values()
    await browse.synced(api)
    await local.rename_list(list_id, "Local groceries")
    await local.update_item(list_id, item_id, description="Oat milk")
    state = fake_external.state()
    remote_list = remote_list_id(state, "Groceries")
    remote_item = remote_item_id(state, "Groceries", "Milk")
    fake_external.update_item(remote_list, remote_item, description="Soy milk")
    # renamed after the item's edit, in a later millisecond: the list's time is its own
    # rename's (NOTES.md, "Merge and conflicts": a list time that is an edited item's, to the
    # millisecond, decides no rename)
    await asyncio.sleep(0.01)
    fake_external.update_list(remote_list, name="Remote groceries")
    run = await browse.synced(api)
    assert run["counts"]["conflicts"] == 2
    return list_id, item_id


async def test_conflicts_resolve_per_field_and_the_next_run_pushes_them(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
    screenshot_dir: Path,
) -> None:
    """One field keeps the local value, the other an edited one; both stay on record as
    resolved, and the next run writes both to the external API."""
    list_id, item_id = await _two_conflicts(local, fake_external, api)
    await browse.sign_in(page, tenant.token)
    await expect(page.locator("#card-conflicts")).to_contain_text("2")
    await browse.go(page, "Conflicts")

    name_card = page.locator("article.conflict", has_text=f"list #{list_id} · name")
    await expect(name_card.get_by_role("row", name="base")).to_contain_text('"Groceries"')
    await expect(name_card.get_by_role("row", name="local")).to_contain_text('"Local groceries"')
    remote_row = name_card.get_by_role("row", name="remote")
    await expect(remote_row).to_contain_text('"Remote groceries"')
    await expect(remote_row).to_contain_text("automatic winner")
    await browse.screenshot(page, screenshot_dir, "conflicts")

    await name_card.get_by_role("radio", name="local", exact=True).check()
    await name_card.get_by_role("button", name="Resolve").click()
    await expect(page.get_by_role("status")).to_contain_text("keeps the local value for name")

    item_card = page.locator("article.conflict", has_text=f"item #{item_id} · description")
    await item_card.get_by_role("radio", name="this value:").check()
    await item_card.get_by_label("Value of description").fill("Almond milk")
    await item_card.get_by_role("button", name="Resolve").click()
    await expect(page.get_by_role("status")).to_contain_text("keeps your value for description")
    await expect(page.locator("#no-conflicts")).to_have_text("No open conflicts.")

    await page.get_by_role("link", name="Resolved").click()
    resolved = page.locator("article.conflict")
    await expect(resolved).to_have_count(2)
    await expect(resolved.filter(has_text="name")).to_contain_text('kept local, value "Local')
    await expect(resolved.filter(has_text="description")).to_contain_text('"Almond milk"')
    await expect(resolved.filter(has_text="description")).to_contain_text('"Soy milk"')

    run_id = await browse.sync_now(page)
    assert (await browse.finished_run(api, run_id))["status"] == "ok"
    assert [t["name"] for t in fake_external.state()] == ["Local groceries"]
    assert [i["description"] for i in fake_external.state()[0]["items"]] == ["Almond milk"]


async def test_a_refused_value_shows_the_api_message(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """An empty value is refused with the API's 422 message, and the conflict stays open."""
    list_id, _ = await _two_conflicts(local, fake_external, api)
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Conflicts")
    card = page.locator("article.conflict", has_text=f"list #{list_id} · name")
    await card.get_by_role("radio", name="this value:").check()
    await card.get_by_label("Value of name").fill("")
    await card.get_by_role("button", name="Resolve").click()

    problem = page.get_by_role("alert")
    await expect(problem.get_by_role("heading")).to_have_text("422 Unprocessable Content")
    await expect(problem).to_contain_text("Value:")
    assert "Traceback" not in await page.content()
    open_now = (await api.get("/api/sync/conflicts")).json()["data"]
    assert len(open_now) == 2


async def test_a_conflict_is_dismissed_and_a_deleted_items_one_turns_obsolete(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """Dismiss closes one conflict without changing the list; the conflict of an item
    deleted afterwards is closed by the next run, and each closed tab says how."""
    list_id, item_id = await _two_conflicts(local, fake_external, api)
    before = (await api.get(f"/api/todolists/{list_id}")).json()
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Conflicts")

    name_card = page.locator("article.conflict", has_text=f"list #{list_id} · name")
    await name_card.get_by_role("button", name="Dismiss").click()

    await expect(page.get_by_role("status")).to_contain_text(f"list #{list_id} keeps its name")
    await expect(page.locator("article.conflict")).to_have_count(1)
    assert (await api.get(f"/api/todolists/{list_id}")).json() == before
    await page.get_by_role("link", name="Dismissed").click()
    dismissed = page.locator("article.conflict")
    await expect(dismissed).to_have_count(1)
    await expect(dismissed).to_contain_text(f"list #{list_id} · name")
    await expect(dismissed).to_contain_text("through the dashboard")
    await expect(dismissed.get_by_role("button")).to_have_count(0)

    deleted = await api.delete(f"/api/todolists/{list_id}/items/{item_id}")
    assert deleted.status_code == 204
    run = await browse.synced(api)
    await page.get_by_role("link", name="Obsolete").click()
    obsolete = page.locator("article.conflict")
    await expect(obsolete).to_have_count(1)
    await expect(obsolete).to_contain_text(f"item #{item_id} · description")
    await expect(obsolete).to_contain_text(f"the item was deleted; closed by run #{run['id']}")
    await page.get_by_role("link", name="Open").click()
    await expect(page.locator("#no-conflicts")).to_have_text("No open conflicts.")
    await browse.go(page, "Overview")
    await expect(page.locator("#card-conflicts .big")).to_have_text("0")
