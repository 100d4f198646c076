"""Fixtures for the dashboard's tests: the whole app served by a real uvicorn server against
the test database and the fake external API, and Debian's Chromium driven by Playwright.

    async def test_something(page: Page, tenant: TenantToken) -> None:
        await browse.sign_in(page, tenant.token)
        ...

The browser is launched once per session from `/usr/bin/chromium` (never a downloaded one);
each test gets a fresh context (no cookies) on a server of its own.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.dashboard import live_server
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide
from todosync import config
from todosync.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
# How long the page may take to show what a test waits for (a run, a live update).
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture
def dashboard_settings(database_url: str, fake_external: FakeExternal) -> config.Settings:
    """The app's settings: the test database, the fake, no periodic syncs (runs start only
    when a test asks), a fixed session secret."""
    token = SecretStr(fake_external.token) if fake_external.token else None
    return config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=token,
        external_max_attempts=2,
        external_retry_budget_seconds=1.0,
        breaker_failure_threshold=50,
        sync_interval_seconds=0,
        session_secret=SecretStr("dashboard-test-session-secret-of-32-bytes"),
    )


@pytest.fixture
def server(dashboard_settings: config.Settings) -> Iterator[live_server.LiveServer]:
    """The app, with its own engine, dispatcher and event bus, on a free loopback port."""
    running = live_server.start(create_app(dashboard_settings))
    yield running
    running.stop()


@pytest.fixture
async def api(
    server: live_server.LiveServer, tenant: TenantToken
) -> AsyncIterator[httpx.AsyncClient]:
    """The live server's REST API as the default tenant (for set-up and checks)."""
    async with httpx.AsyncClient(base_url=server.url, headers=tenant.headers) as client:
        yield client


@pytest.fixture
def local(sessionmaker: async_sessionmaker[AsyncSession]) -> LocalSide:
    """The local store, edited through its service as the API would."""
    return LocalSide(sessionmaker)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; never a browser that Playwright downloads."""
    if not CHROMIUM.exists():
        pytest.fail("the dashboard tests need Debian's chromium: apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(
    browser: Browser, server: live_server.LiveServer
) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) whose relative URLs go to the live server."""
    created = await browser.new_context(base_url=server.url, viewport=LAPTOP)
    created.set_default_timeout(WAIT_MS)
    yield created
    await created.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: `TODOSYNC_SCREENSHOTS_DIR` (the README's come from
    `docs/screenshots`), else a temporary folder."""
    wanted = os.environ.get("TODOSYNC_SCREENSHOTS_DIR")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
