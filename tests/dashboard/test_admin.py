"""An admin token in a real browser: the tenants page, and nothing of any tenant's data."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.dashboard import browse
from tests.fixtures.api import TenantToken, make_admin_token
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide
from todosync.db import engine as db_engine
from todosync.store.models import Connection


async def _sign_in_as_admin(page: Page, token: str) -> None:
    await page.goto("/dashboard/sign-in")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()


async def test_the_tenants_page_shows_health_and_no_data(
    page: Page,
    engine: AsyncEngine,
    other_tenant: TenantToken,
    local: LocalSide,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
    screenshot_dir: Path,
) -> None:
    """Signed in with an admin token: each tenant's connection with its health, last run,
    lag, conflicts and quarantine; every tenant page is a 403 and no list or item shows."""
    await local.create_list("Secret plans", ["Step one"])
    fake_external.load_state([{"id": "bad", "name": "Bad", "items": "oops"}])
    run = await browse.synced(api)
    async with db_engine.create_sessionmaker(engine).begin() as session:
        session.add(Connection(tenant_id=other_tenant.tenant_id, name="other's"))

    await _sign_in_as_admin(page, await make_admin_token(engine))

    row = page.locator("#connection-1")
    await expect(row).to_contain_text("default")
    await expect(row).to_contain_text(f"#{run['id']}")
    await expect(row.locator("td").nth(6)).to_have_text("1")  # quarantined: the bad list
    await expect(row).to_have_attribute("data-health", "attention")
    other = page.locator("tbody tr").nth(1)
    await expect(other).to_contain_text("other")
    await expect(other).to_have_attribute("data-health", "new")
    await browse.screenshot(page, screenshot_dir, "tenants")
    nav = page.get_by_role("navigation", name="Main")
    assert await nav.get_by_role("link").all_inner_texts() == ["Tenants"]
    for path in ("/dashboard", "/dashboard/runs", f"/dashboard/runs/{run['id']}"):
        await page.goto(path)
        await expect(page.get_by_role("alert").get_by_role("heading")).to_have_text("403 Forbidden")
        content = await page.content()
        assert "Secret plans" not in content
        assert "Step one" not in content
    assert "fake-external-test-token" not in await page.content()


async def test_a_tenant_session_cannot_see_the_tenants_page(
    page: Page, tenant: TenantToken
) -> None:
    """A tenant's token gets 403 on the tenants page."""
    await browse.sign_in(page, tenant.token)
    await page.goto("/dashboard/tenants")
    await expect(page.get_by_role("alert").get_by_role("heading")).to_have_text("403 Forbidden")
