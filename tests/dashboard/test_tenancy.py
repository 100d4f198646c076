"""A second tenant, in a real browser, sees nothing of the first."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.dashboard import browse
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide


async def test_a_second_tenant_sees_nothing_of_the_first(
    page: Page,
    tenant: TenantToken,
    other_tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """Runs, lists, conflicts and quarantine of tenant 1 stay out of tenant 2's pages; its
    "Sync now" fails with the API's message (it has no connection)."""
    await local.create_list("Secret plans", ["Step one"])
    fake_external.load_state([{"id": "bad", "name": "Bad", "items": "oops"}])
    run = await browse.synced(api)
    assert run["status"] != "failed"

    await browse.sign_in(page, other_tenant.token)
    await expect(page.locator("#card-last-run")).to_contain_text("none yet")
    await expect(page.locator("#card-quarantine")).to_contain_text("0")
    await browse.go(page, "Runs")
    await expect(page.locator("#no-runs")).to_be_visible()
    await browse.go(page, "Quarantine")
    await expect(page.locator("#no-quarantine")).to_be_visible()
    await browse.go(page, "Actions")
    await expect(page.locator("#sync-list")).to_contain_text("No lists yet.")
    assert "Secret plans" not in await page.content()

    await page.goto(f"/dashboard/runs/{run['id']}")
    await expect(page.get_by_role("alert")).to_contain_text(f"Run {run['id']} not found.")

    await browse.go(page, "Actions")
    await page.get_by_role("button", name="Sync now…").click()
    await page.get_by_role("button", name="Confirm").click()
    problem = page.get_by_role("alert")
    await expect(problem.get_by_role("heading")).to_have_text("409 Conflict")
    await expect(problem).to_contain_text("This tenant has no connection to an external API.")
    assert "Traceback" not in await page.content()
