"""A run's page links each changed entity to its versions: what it was before and after,
who changed it, and both times."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.dashboard import browse
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal


async def test_the_run_log_links_an_imported_list_to_its_versions(
    page: Page,
    tenant: TenantToken,
    fake_external: FakeExternal,
    api: httpx.AsyncClient,
) -> None:
    """After a remote rename is pulled, the list's versions show the import and the rename,
    each by its run, and the rename's old and new name."""
    remote = fake_external.create_list("Books", items=["Dune"])
    await browse.synced(api)
    fake_external.update_list(remote["id"], name="Novels")
    run = await browse.synced(api)
    list_id = (await api.get("/api/todolists")).json()["data"][0]["id"]
    await browse.sign_in(page, tenant.token)

    await page.goto(f"/dashboard/runs/{run['id']}")
    await page.get_by_role("link", name=f"versions of list #{list_id}").click()

    heading = page.get_by_role("heading", name=f"Versions of list #{list_id}")
    await expect(heading).to_be_visible()
    rows = page.locator("#versions tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("created")
    await expect(rows.nth(1)).to_contain_text("name: Books")
    await expect(rows.nth(1)).to_contain_text("name: Novels")
    await rows.nth(1).get_by_role("link", name=f"run #{run['id']}").click()
    await expect(page.get_by_role("heading", name=f"Run #{run['id']}")).to_be_visible()


async def test_an_entity_without_versions_is_not_found(
    page: Page, tenant: TenantToken, fake_external: FakeExternal, api: httpx.AsyncClient
) -> None:
    """An id with no event of the signed-in tenant (unknown, or another tenant's) is the
    dashboard's 404 page."""
    await browse.sign_in(page, tenant.token)

    response = await page.goto("/dashboard/versions?entity=list:999999")

    assert response is not None
    assert response.status == 404
