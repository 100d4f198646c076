"""Bearer tokens guard every `/api` route; health routes need none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.helpers import assert_problem
from tests.api.routes import API_ROUTES, fill
from tests.fixtures.api import TenantToken
from tests.fixtures.store import load, make_item, make_list
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


async def test_revoked_token_is_refused(
    anonymous_client: httpx.AsyncClient, engine: AsyncEngine, tenant: TenantToken
) -> None:
    """A token works until it is revoked, then answers 401."""
    headers = tenant.headers
    assert (await anonymous_client.get("/api/todolists", headers=headers)).status_code == 200
    async with db_engine.create_sessionmaker(engine)() as session, session.begin():
        await auth_service.revoke_token(session, token=tenant.token)
    assert_problem(await anonymous_client.get("/api/todolists", headers=headers), 401)


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
