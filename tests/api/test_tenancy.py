"""Each tenant sees only its own data: another tenant's ids are 404 on every route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.helpers import assert_problem
from tests.api.routes import API_ROUTES, fill
from tests.fixtures.api import TenantToken
from tests.fixtures.store import load, make_item, make_list
from todosync.store.models import TodoItem, TodoList


@pytest.fixture
async def theirs(session: AsyncSession, other_tenant: TenantToken) -> dict[str, int]:
    """A list and an item of the tenant "other"."""
    todo = await make_list(session, tenant_id=other_tenant.tenant_id, name="Theirs")
    item = await make_item(session, todo_list=todo, description="Their item")
    return {"list_id": todo.id, "item_id": item.id}


@pytest.mark.parametrize(("method", "template", "body"), [r for r in API_ROUTES if "{" in r[1]])
async def test_another_tenants_ids_are_404(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    theirs: dict[str, int],
    method: str,
    template: str,
    body: Any,
) -> None:
    """The default tenant cannot read, change, delete or add to the other tenant's rows."""
    response = await client.request(method, fill(template, **theirs), json=body)
    assert_problem(response, 404)
    stored_list = await load(engine, TodoList, theirs["list_id"])
    stored_item = await load(engine, TodoItem, theirs["item_id"])
    assert (stored_list.version, stored_list.deleted_at) == (1, None)
    assert (stored_item.version, stored_item.deleted_at) == (1, None)


async def test_collections_hold_only_own_rows(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    theirs: dict[str, int],
) -> None:
    """Each tenant's list collection shows its own lists only; new rows belong to the creator."""
    mine = (await client.post("/api/todolists", json={"name": "Mine"})).json()
    assert [row["id"] for row in (await client.get("/api/todolists")).json()["data"]] == [
        mine["id"]
    ]
    their_rows = (await other_client.get("/api/todolists")).json()["data"]
    assert [row["id"] for row in their_rows] == [theirs["list_id"]]
    items = (await other_client.get(f"/api/todolists/{theirs['list_id']}/items")).json()
    assert [row["id"] for row in items["data"]] == [theirs["item_id"]]
