"""Fixtures for sync tests: an engine over the test database and the fake external API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide
from todosync import config
from todosync.external.client import ExternalClient
from todosync.sync.books.report import RunReport
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine

RunSync = Callable[..., Awaitable[RunReport]]


@pytest.fixture
def sync_settings(database_url: str, fake_external: FakeExternal) -> config.Settings:
    """Settings that point the engine at the test database and the fake."""
    token = SecretStr(fake_external.token) if fake_external.token else None
    return config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=token,
        external_max_attempts=2,
        external_retry_budget_seconds=1.0,
        breaker_failure_threshold=50,
    )


@pytest.fixture
def local(sessionmaker: async_sessionmaker[AsyncSession]) -> LocalSide:
    return LocalSide(sessionmaker)


@pytest.fixture
def run_sync(
    sessionmaker: async_sessionmaker[AsyncSession], sync_settings: config.Settings
) -> RunSync:
    """Runs one sync with a fresh client (as one `todosync sync` process would)."""

    async def run(*, settings: dict[str, Any] | None = None, **request: Any) -> RunReport:
        effective = sync_settings.model_copy(update=settings or {})
        async with ExternalClient.from_settings(effective) as client:
            engine = SyncEngine(
                sessionmaker=sessionmaker,
                client=client,
                options=EngineOptions.from_settings(effective),
            )
            return await engine.run(RunRequest(**request))

    return run
