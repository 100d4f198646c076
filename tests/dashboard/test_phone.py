"""The dashboard on a 390 px phone: every action button can be reached, and a signed-out page
opens no event stream."""

from __future__ import annotations

import httpx
from playwright.async_api import Locator, Page, Request, expect

from tests.dashboard import browse
from tests.dashboard.conftest import PHONE
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal


async def _reachable(button: Locator) -> bool:
    """Whether the button lies inside the viewport, or inside the visible part of a container
    that scrolls sideways to it."""
    return bool(
        await button.evaluate(
            """(button) => {
                const box = button.getBoundingClientRect();
                if (box.left >= -1 && box.right <= window.innerWidth + 1) { return true; }
                for (let node = button.parentElement; node; node = node.parentElement) {
                    const scrolls = /(auto|scroll)/.test(getComputedStyle(node).overflowX);
                    if (scrolls && node.scrollWidth > node.clientWidth) {
                        node.scrollLeft = node.scrollWidth;
                        const moved = button.getBoundingClientRect();
                        return moved.right <= window.innerWidth + 1 && moved.left >= 0;
                    }
                }
                return false;
            }"""
        )
    )


async def test_every_quarantine_button_is_on_screen_on_a_phone(
    page: Page, tenant: TenantToken, fake_external: FakeExternal, api: httpx.AsyncClient
) -> None:
    """At 390 px the quarantine's Replay buttons sit inside the viewport without scrolling
    the table (the action column stays in view), and every other button is reachable."""
    fake_external.load_state(
        [
            {"id": "list-with-a-rather-long-external-id-0001", "name": "A", "items": "oops"},
            {"id": "list-with-a-rather-long-external-id-0002", "name": 7, "items": []},
        ]
    )
    assert (await browse.synced(api))["counts"]["quarantined"] == 2
    await page.set_viewport_size(PHONE)
    await browse.sign_in(page, tenant.token)
    await browse.go(page, "Quarantine")
    replay = page.locator("#quarantine tbody").get_by_role("button", name="Replay")
    await expect(replay).to_have_count(2)
    table_wrap = page.locator(".table-wrap")
    assert await table_wrap.evaluate("(wrap) => wrap.scrollWidth > wrap.clientWidth")
    for n in range(2):
        box = await replay.nth(n).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    for button in await page.get_by_role("button").all():
        assert await _reachable(button), await button.inner_text()


async def test_the_signed_out_page_opens_no_event_stream(page: Page) -> None:
    """The sign-in page neither opens `/dashboard/events` nor polls."""
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    await page.set_viewport_size(PHONE)
    await page.goto("/dashboard/sign-in")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.wait_for_timeout(2500)  # longer than the polling period
    assert not [url for url in requests if "/dashboard/events" in url]
    assert [url for url in requests if "/static/" not in url] == [page.url]
