"""Bearer tokens guard every `/api` route; health routes need none."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.helpers import assert_problem
from tests.api.routes import API_ROUTES, fill
from tests.fixtures.api import TenantToken, make_client
from tests.fixtures.store import load, make_item, make_list
from todosync import config, runtime
from todosync.app import create_app
from todosync.auth import service as auth_service
from todosync.db import engine as db_engine
from todosync.store.models import TodoList

MALFORMED = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Token abc",
    "tds_abc",
    "Bearer not-a-token",
    "Bearer " + "x" * 10_000,
]


@pytest.fixture
async def ids(session: AsyncSession) -> dict[str, int]:
    """An existing list and item of the default tenant."""
    todo = await make_list(session)
    item = await make_item(session, todo_list=todo)
    return {"list_id": todo.id, "item_id": item.id}


@pytest.mark.parametrize(("method", "template", "body"), API_ROUTES)
async def test_every_api_route_needs_a_token(
    anonymous_client: httpx.AsyncClient,
    engine: AsyncEngine,
    ids: dict[str, int],
    method: str,
    template: str,
    body: Any,
) -> None:
    """Without a valid token every route is a 401 problem (`WWW-Authenticate`); nothing written."""
    path = fill(template, **ids)
    for header in MALFORMED:
        headers = {} if header is None else {"Authorization": header}
        response = await anonymous_client.request(method, path, json=body, headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    stored = await load(engine, TodoList, ids["list_id"])
    assert (stored.version, stored.deleted_at) == (1, None)


async def _revoke(engine: AsyncEngine, token: str) -> None:
    async with db_engine.create_sessionmaker(engine)() as session, session.begin():
        await auth_service.revoke_token(session, token=token)


async def test_revoked_token_is_refused_without_cache(
    api_settings: config.Settings, engine: AsyncEngine, tenant: TenantToken
) -> None:
    """Without the token cache, a token works until it is revoked, then answers 401 at once."""
    app = create_app(
        api_settings.model_copy(update={"token_cache_seconds": 0}), engine=engine, dispatcher=False
    )
    async with make_client(app, token=tenant.token) as client:
        assert (await client.get("/api/todolists")).status_code == 200
        await _revoke(engine, tenant.token)
        assert_problem(await client.get("/api/todolists"), 401)


async def test_revoked_token_stops_working_within_the_cache_ttl(
    api_settings: config.Settings, engine: AsyncEngine, tenant: TenantToken
) -> None:
    """A token revoked after it was checked answers 401 once the cache's TTL has passed."""
    ttl_s = 0.2
    app = create_app(
        api_settings.model_copy(update={"token_cache_seconds": ttl_s}),
        engine=engine,
        dispatcher=False,
    )
    async with make_client(app, token=tenant.token) as client:
        assert (await client.get("/api/todolists")).status_code == 200
        await _revoke(engine, tenant.token)
        await asyncio.sleep(ttl_s * 1.5)
        assert_problem(await client.get("/api/todolists"), 401)


async def test_checked_token_is_remembered(
    client: httpx.AsyncClient, engine: AsyncEngine, tenant: TenantToken
) -> None:
    """Within the default TTL a token checked once is not looked up again (revoked meanwhile,
    it still works), which is what spares every request the token query."""
    assert (await client.get("/api/todolists")).status_code == 200
    await _revoke(engine, tenant.token)
    assert (await client.get("/api/todolists")).status_code == 200


async def test_unknown_token_is_not_remembered(
    app: FastAPI, anonymous_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A refused token is looked up again next time, so a token works as soon as it exists."""
    headers = {"Authorization": "Bearer tds_not_yet"}
    assert_problem(await anonymous_client.get("/api/todolists", headers=headers), 401)
    assert len(runtime.services_of(app).token_cache) == 0


async def test_scheme_is_case_insensitive(
    anonymous_client: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """`bearer` and `BEARER` are the same scheme (RFC 9110)."""
    for scheme in ("bearer", "BEARER"):
        headers = {"Authorization": f"{scheme} {tenant.token}"}
        assert (await anonymous_client.get("/api/todolists", headers=headers)).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
async def test_health_routes_need_no_token(anonymous_client: httpx.AsyncClient, path: str) -> None:
    """Health, readiness, metrics and the OpenAPI document are public."""
    assert (await anonymous_client.get(path)).status_code == 200
