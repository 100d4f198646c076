"""Signing in and out in a real browser."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect

from tests.dashboard import browse
from tests.fixtures.api import TenantToken


async def test_a_wrong_token_is_refused(page: Page, context: BrowserContext) -> None:
    """A token that is not live gets a message and no session; the pages stay closed."""
    await page.goto("/dashboard/sign-in")
    await page.get_by_label("API token").fill("tds_not-a-real-token")
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert")).to_have_text("The API token is unknown or revoked.")
    assert "tds_not-a-real-token" not in await page.content()
    await page.goto("/dashboard/runs")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.url.endswith("/dashboard/sign-in")


async def test_sign_in_then_sign_out(page: Page, tenant: TenantToken, screenshot_dir: Path) -> None:
    """A live token opens the overview; signing out closes it again, for a replayed copy of
    the session's cookie too."""
    await page.goto("/dashboard")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await browse.screenshot(page, screenshot_dir, "sign-in")

    await browse.sign_in(page, tenant.token)
    await expect(page.get_by_role("status")).to_have_text("Signed in.")
    await expect(page.locator("#card-connection")).to_contain_text("Healthy")

    signed_in_cookies = await page.context.cookies()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("Signed out.")
    await page.goto("/dashboard")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # a copy of the signed-in cookie, replayed after the sign-out, opens nothing
    await page.context.clear_cookies()
    await page.context.add_cookies(signed_in_cookies)  # type: ignore[arg-type]
    await page.goto("/dashboard")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text(
        "This session was signed out; sign in again."
    )
