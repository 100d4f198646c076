"""Actions in a real browser: a dry run shows its plan, a held run is run again with mass
deletes allowed or with the external side restored, and the main action works from the
keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.dashboard import browse
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide


async def test_a_dry_run_of_one_list_shows_the_plan_and_changes_nothing(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
    screenshot_dir: Path,
) -> None:
    """The confirmation names the list; the run page then lists the planned actions while
    the external API stays untouched."""
    await local.create_list("Groceries", ["Milk"])
    chores = await local.create_list("Chores")
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Actions")
    await browse.screenshot(page, screenshot_dir, "actions")
    await page.get_by_label("Scope").select_option(label=f"Chores (#{chores})")
    await page.get_by_role("button", name="Dry run…").click()

    confirm = page.locator("#confirm-text")
    await expect(confirm).to_contain_text(f"Queue a dry run of the list “Chores” (#{chores})")
    await expect(confirm).to_contain_text("it changes nothing")
    await browse.screenshot(page, screenshot_dir, "confirm")
    await page.get_by_role("button", name="Confirm").click()

    plan = page.locator("#run-plan")
    await expect(plan).to_contain_text(f"list #{chores}")
    await expect(plan).to_contain_text("create")
    await expect(page.locator("#run-status")).to_have_text("ok")
    # the finished run's page claims nothing about it being queued
    assert "queued" not in (await page.locator("main").inner_text()).lower()
    assert fake_external.state() == []
    await browse.screenshot(page, screenshot_dir, "dry-run")
    assert fake_external.request_count("GET") == 1
    assert fake_external.request_count() == 1


async def _held_run(
    local: LocalSide, fake_external: FakeExternal, api: httpx.AsyncClient
) -> dict[str, Any]:
    """Three synced lists, then an emptied remote side: the run that meets it is held."""
    for n in range(3):
        await local.create_list(f"List {n}", [f"item {n}"])
    await browse.synced(api)
    fake_external.load_state([])
    held: dict[str, Any] = await browse.synced(api)
    assert held["status"] == "held"
    return held


async def test_a_held_run_runs_again_with_mass_deletes_allowed(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """A run that met an emptied remote side is held with its reason; "Allow mass delete"
    says what it risks, then deletes locally what was deleted remotely."""
    held = await _held_run(local, fake_external, api)

    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Runs")  # the list says why, too
    await expect(page.locator(f"#run-{held['id']} .run-reason")).to_have_text(held["reason"])
    await page.goto(f"/dashboard/runs/{held['id']}")
    await expect(page.locator("#run-reason")).to_be_visible()
    await page.get_by_role("button", name="Allow mass delete and run again…").click()
    await expect(page.locator("#confirm-text")).to_contain_text("the mass-delete guard is off")
    await page.get_by_role("button", name="Confirm").click()

    await expect(page.locator("#run-status")).to_have_text("ok")
    assert await local.list_ids() == {}


async def test_a_held_run_restores_the_external_side_from_here(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """The other way on from a held run (a reset external account): "Restore the external
    side" says what it does, then creates the lists there again and deletes nothing here."""
    held = await _held_run(local, fake_external, api)

    await browse.sign_in(page, tenant.token)
    await page.goto(f"/dashboard/runs/{held['id']}")
    await expect(page.locator("#held-choices")).to_contain_text("external account reset")
    await page.get_by_role("button", name="Restore the external side from here…").click()
    await expect(page.locator("#confirm-text")).to_contain_text("nothing is deleted here")
    await page.get_by_role("button", name="Confirm").click()

    await expect(page.locator("#run-status")).to_have_text("ok")
    assert sorted(await local.list_ids()) == ["List 0", "List 1", "List 2"]
    assert sorted(todo["name"] for todo in fake_external.state()) == ["List 0", "List 1", "List 2"]


async def test_sync_now_from_the_keyboard_alone(
    page: Page, tenant: TenantToken, local: LocalSide, fake_external: FakeExternal
) -> None:
    """The token field and the Confirm button take the focus, so Enter does each step."""
    await local.create_list("Groceries")
    await page.goto("/dashboard/sign-in")
    # typing before the page has given the field its focus would lose keystrokes
    await expect(page.get_by_label("API token")).to_be_focused()
    await page.keyboard.type(tenant.token)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()

    await page.goto("/dashboard/actions/confirm")
    await expect(page.get_by_role("button", name="Confirm")).to_be_focused()
    await page.keyboard.press("Enter")

    await expect(page.locator("#run-status")).to_have_text("ok")
    assert [todo["name"] for todo in fake_external.state()] == ["Groceries"]
