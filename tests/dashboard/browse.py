"""What a person does in the dashboard, as steps for the browser tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

WAIT_MS = 20_000

__all__ = ["WAIT_MS", "finished_run", "go", "screenshot", "sign_in", "sync_now", "synced"]


async def sign_in(page: Page, token: str) -> None:
    """Signs in from the sign-in page and waits for the overview."""
    await page.goto("/dashboard/sign-in")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()


async def go(page: Page, section: str) -> None:
    """Follows a link of the main navigation."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name=section).click()
    await expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()


async def sync_now(page: Page) -> int:
    """Actions → Sync now → Confirm; returns the id of the queued run (its page is shown)."""
    await go(page, "Actions")
    await page.get_by_role("button", name="Sync now…").click()
    await expect(page.locator("#confirm-text")).to_contain_text("Queue a sync of every list")
    await page.get_by_role("button", name="Confirm").click()
    heading = page.get_by_role("heading", name="Run #", exact=False)
    await expect(heading).to_be_visible()
    return int((await heading.inner_text()).removeprefix("Run #"))


async def finished_run(api: httpx.AsyncClient, run_id: int, *, timeout_s: float = 20.0) -> Any:
    """The run once it has finished, read through the REST API."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        run = (await api.get(f"/api/sync/runs/{run_id}")).json()
        if run["finished_at"] is not None:
            return run
        if loop.time() > deadline:
            raise TimeoutError(f"run {run_id} is still {run['status']}")
        await asyncio.sleep(0.05)


async def synced(api: httpx.AsyncClient) -> Any:
    """Queues a run through the REST API and returns it once finished (test set-up)."""
    response = await api.post("/api/sync")
    assert response.status_code == 202, response.text
    return await finished_run(api, response.json()["run_id"])


async def screenshot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
