"""Runs in a real browser: a run appears live after "Sync now", its log opens, a delayed
sync is scheduled, and the runs list filters by status, trigger and time."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import BrowserContext, Page, expect

from tests.dashboard import browse
from tests.dashboard.conftest import PHONE
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide
from todosync.clock import utc_now


async def test_a_run_appears_live_after_sync_now_and_its_log_opens(
    page: Page,
    context: BrowserContext,
    tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
    screenshot_dir: Path,
) -> None:
    """A second tab on the runs page shows the new run finish without reloading; the run's
    page lists what it did, entity by entity."""
    list_id = await local.create_list("Groceries", ["Milk", "Bread"])
    await browse.sign_in(page, tenant.token)
    watcher = await context.new_page()
    await watcher.goto("/dashboard/runs")
    await expect(watcher.locator("#no-runs")).to_be_visible()
    # survives only as long as the page is not reloaded
    await watcher.evaluate("window.notReloaded = true")

    run_id = await browse.sync_now(page)

    row = watcher.locator(f"#run-{run_id}")
    await expect(row).to_have_attribute("data-status", "ok", timeout=browse.WAIT_MS)
    assert await watcher.evaluate("window.notReloaded") is True
    await expect(page.locator("#run-status")).to_have_text("ok")
    await expect(page.locator("#run-log")).to_contain_text(f"list #{list_id}")
    await expect(page.locator("#run-log")).to_contain_text("create")
    assert [todo["name"] for todo in fake_external.state()] == ["Groceries"]
    await browse.screenshot(page, screenshot_dir, "run")

    await row.get_by_role("link", name=f"#{run_id}").click()
    await expect(watcher.get_by_role("heading", name=f"Run #{run_id}")).to_be_visible()
    await expect(watcher.locator("#run-api-calls")).to_have_text("2")
    await local.create_list("Chores", ["Dishes", "Laundry", "Windows"])
    await browse.synced(api)
    fake_external.create_list("Books", items=["Dune"])
    last = await browse.synced(api)
    await browse.go(watcher, "Overview")
    await expect(watcher.locator("#card-last-run")).to_contain_text(f"#{last['id']}")
    await expect(watcher.locator(".chart rect.dur")).to_have_count(3)
    await browse.screenshot(watcher, screenshot_dir, "overview")
    await watcher.set_viewport_size(PHONE)
    await browse.screenshot(watcher, screenshot_dir, "overview-phone")


async def test_a_delayed_sync_is_scheduled(
    page: Page, tenant: TenantToken, local: LocalSide, api: httpx.AsyncClient
) -> None:
    """ "Sync later" says when, queues a delayed run, and the overview shows it as next."""
    await local.create_list("Groceries")
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Actions")
    await page.get_by_label("Start in (minutes)").fill("7")
    await page.get_by_role("button", name="Sync later…").click()
    await expect(page.locator("#confirm-text")).to_contain_text("to start in 7 minutes")
    await page.get_by_role("button", name="Confirm").click()

    await expect(page.locator("#run-status")).to_have_text("queued")
    heading = await page.get_by_role("heading", name="Run #", exact=False).inner_text()
    run = (await api.get(f"/api/sync/runs/{heading.removeprefix('Run #')}")).json()
    assert (run["trigger"], run["status"], run["started_at"]) == ("delayed", "queued", None)
    await browse.go(page, "Overview")
    await expect(page.locator("#card-next-run")).to_contain_text(re.compile(r"in [67] min"))


async def test_runs_filter_by_status_and_trigger(
    page: Page,
    tenant: TenantToken,
    local: LocalSide,
    api: httpx.AsyncClient,
    screenshot_dir: Path,
) -> None:
    """The filters keep only the runs of the chosen status, trigger and day."""
    await local.create_list("Groceries")
    done = await browse.synced(api)
    waiting = (await api.post("/api/sync", json={"delay_seconds": 3600})).json()["run_id"]
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Runs")
    await expect(page.locator("tbody tr")).to_have_count(2)
    await browse.screenshot(page, screenshot_dir, "runs")

    await page.get_by_label("Status").select_option("ok")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator(f"#run-{done['id']}")).to_be_visible()

    await page.get_by_label("Status").select_option("")
    await page.get_by_label("Trigger").select_option("delayed")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator(f"#run-{waiting}")).to_be_visible()

    await page.get_by_label("Trigger").select_option("")
    await page.get_by_label("Until").fill("2000-01-01")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#no-runs")).to_be_visible()
    await page.get_by_label("Until").fill(utc_now().date().isoformat())
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("tbody tr")).to_have_count(2)
