"""`/api/admin` and admin tokens: every tenant's connections, read-only, for an admin token
only; an admin token reads no tenant's data (403). Every route is walked in
`tests/tenancy/test_isolation_walk.py`; real runs show in the admin view there too."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import assert_problem
from tests.fixtures.api import TenantToken
from tests.fixtures.store import make_list
from todosync.auth import service as auth_service
from todosync.store.models import DEFAULT_CONNECTION_ID, Connection
from todosync.tenancy import service as tenancy_service


async def _connect(session: AsyncSession, tenant: TenantToken, name: str) -> int:
    """Gives the tenant a connection (as `connections create` will) and returns its id."""
    row = Connection(tenant_id=tenant.tenant_id, name=name)
    session.add(row)
    await session.commit()
    return row.id


async def test_a_tenant_token_gets_403(client: httpx.AsyncClient) -> None:
    """A tenant's token is live but may not read across tenants: 403, not 401 or 404."""
    body = assert_problem(await client.get("/api/admin/connections"), 403)
    assert "admin token" in body["detail"]


async def test_an_admin_token_reads_no_tenant_data(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Lists, items and sync routes answer an admin token 403, whatever the id."""
    todo = await make_list(session, name="Secret plans")
    for method, path in (
        ("GET", "/api/todolists"),
        ("GET", f"/api/todolists/{todo.id}"),
        ("POST", "/api/todolists"),
        ("GET", "/api/sync/status"),
        ("POST", "/api/sync"),
    ):
        response = await admin_client.request(method, path, json={"name": "x"})
        body = assert_problem(response, 403)
        assert "Secret plans" not in response.text
        assert "/api/admin" in body["detail"]


async def test_every_connection_with_its_tenant(
    admin_client: httpx.AsyncClient,
    session: AsyncSession,
    other_tenant: TenantToken,
) -> None:
    """One entry per connection of every tenant, by id, with the tenant's name and state."""
    other_connection = await _connect(session, other_tenant, "other's")
    await tenancy_service.disable_tenant(session, name="other")
    await session.commit()

    response = await admin_client.get("/api/admin/connections")

    assert response.status_code == 200, response.text
    default, other = response.json()["data"]
    assert (default["connection_id"], default["tenant"]) == (DEFAULT_CONNECTION_ID, "default")
    assert (default["tenant_disabled"], default["health"]) == (False, "new")
    assert (default["last_run"], default["last_success_at"], default["lag_s"]) == (None,) * 3
    assert (default["open_conflicts"], default["quarantined"]) == (0, 0)
    assert (other["connection_id"], other["connection"]) == (other_connection, "other's")
    assert (other["tenant_id"], other["tenant"]) == (other_tenant.tenant_id, "other")
    assert (other["tenant_disabled"], other["health"]) == (True, "disabled")
    assert response.json()["next_cursor"] is None


async def test_connections_come_in_pages(
    admin_client: httpx.AsyncClient, session: AsyncSession, other_tenant: TenantToken
) -> None:
    """`?limit=` and `?cursor=` page the connections like every other collection."""
    second = await _connect(session, other_tenant, "second")
    first_page = (await admin_client.get("/api/admin/connections?limit=1")).json()
    assert [c["connection_id"] for c in first_page["data"]] == [DEFAULT_CONNECTION_ID]
    params = {"limit": 1, "cursor": first_page["next_cursor"]}
    second_page = (await admin_client.get("/api/admin/connections", params=params)).json()
    assert [c["connection_id"] for c in second_page["data"]] == [second]
    assert second_page["next_cursor"] is None
    assert_problem(await admin_client.get("/api/admin/connections?limit=0"), 422)


async def test_a_revoked_admin_token_is_401(
    admin_client: httpx.AsyncClient, admin_token: str, session: AsyncSession
) -> None:
    """`tokens revoke` ends an admin token like any other."""
    await auth_service.revoke_token(session, token=admin_token)
    await session.commit()
    assert_problem(await admin_client.get("/api/admin/connections"), 401)


async def test_the_openapi_document_shows_the_admin_route(client: httpx.AsyncClient) -> None:
    """`/openapi.json` documents the admin route, its 403, and the 403 of tenant routes."""
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/admin/connections"]["get"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert "403" in document["paths"]["/api/todolists"]["get"]["responses"]
