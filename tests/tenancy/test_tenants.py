"""Tenants through their service and the API: a disabled tenant keeps its data, its tokens
answer 401, its queued runs fail with the reason, and the scheduler skips its connection;
enabled again, it works as before."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.api import TenantToken, make_client, make_tenant_token
from tests.fixtures.store import queue_plain_run
from todosync import config
from todosync.app import create_app
from todosync.errors import ConflictError, NotFoundError, ValidationFailed
from todosync.jobs import schedules
from todosync.store.models import DEFAULT_TENANT_ID
from todosync.sync.books.models import SyncRun
from todosync.tenancy import service


@pytest.fixture
def uncached_app(database_url: str, engine: AsyncEngine) -> FastAPI:
    """The API app with no token cache, so a disabled tenant's token fails at once."""
    settings = config.load_settings(database_url=database_url, token_cache_seconds=0)
    return create_app(settings, engine=engine, dispatcher=False)


async def test_create_refuses_a_taken_name_and_list_counts_tokens(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A second tenant of one name is a conflict; the list shows each tenant with its live
    tokens and connections."""
    async with sessionmaker.begin() as session:
        acme = await service.create_tenant(session, name="acme")
    await make_tenant_token(engine, name="acme")
    async with sessionmaker.begin() as session:
        with pytest.raises(ConflictError, match="acme exists"):
            await service.create_tenant(session, name="acme")
        with pytest.raises(ValidationFailed):
            await service.create_tenant(session, name=" ")
        found = {t.name: t for t in await service.list_tenants(session)}
    assert found["acme"].id == acme
    assert (found["acme"].live_tokens, found["acme"].connections) == (1, 0)
    assert found["default"].connections == 1
    assert found["acme"].disabled_at is None


async def test_a_disabled_tenant_gets_401_and_keeps_its_data(
    uncached_app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Its token answers 401 while disabled and works again once enabled, with its list
    still there; another tenant's token is unaffected."""
    acme = await make_tenant_token(engine, name="acme")
    other = await make_tenant_token(engine, name="other")
    async with make_client(uncached_app, token=acme.token) as client:
        created = await client.post("/api/todolists", json={"name": "Groceries"})
        assert created.status_code == 201
        async with sessionmaker.begin() as session:
            assert await service.disable_tenant(session, name="acme") is True
            assert await service.disable_tenant(session, name="acme") is False
        assert (await client.get("/api/todolists")).status_code == 401
        async with make_client(uncached_app, token=other.token) as other_client:
            assert (await other_client.get("/api/todolists")).status_code == 200
        async with sessionmaker.begin() as session:
            assert await service.enable_tenant(session, name="acme") is True
        lists = (await client.get("/api/todolists")).json()["data"]
    assert [todo["name"] for todo in lists] == ["Groceries"]


async def test_disabling_fails_queued_runs_and_stops_the_schedule(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: TenantToken
) -> None:
    """The default tenant's queued run fails with the reason, its connection leaves the
    scheduler's list, and a new token for it is refused."""
    async with sessionmaker.begin() as session:
        run = await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=60)
        assert await schedules.schedulable_connections(session) == [
            schedules.Schedulable(1, DEFAULT_TENANT_ID, None)
        ]
        await service.disable_tenant(session, name="default")
    async with sessionmaker() as session:
        failed = (
            await session.execute(sa.select(SyncRun).where(SyncRun.id == run.id))
        ).scalar_one()
        assert (failed.status, failed.reason) == ("failed", "its tenant was disabled")
        assert await schedules.schedulable_connections(session) == []
    async with sessionmaker() as session:
        with pytest.raises(ValidationFailed, match="disabled"):
            await make_tenant_token(session, name="default")


async def test_an_unknown_tenant_is_not_found(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Disabling or enabling a name that names no tenant says so."""
    async with sessionmaker.begin() as session:
        with pytest.raises(NotFoundError, match="no tenant ghost"):
            await service.disable_tenant(session, name="ghost")
        with pytest.raises(NotFoundError):
            await service.enable_tenant(session, name="ghost")
