"""Every query and mutation sees only the token's tenant: another tenant's ids are NOT_FOUND
and its rows are neither listed nor changed."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.api import TenantToken
from tests.fixtures.store import load, make_item, make_list
from tests.graphql.helpers import codes, data, gql
from todosync.store.models import TodoItem, TodoList
from todosync.sync.books.models import SyncConflict, SyncQuarantine


@pytest.fixture
async def theirs(
    session: AsyncSession,
    other_tenant: TenantToken,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[str, str]:
    """The default tenant's run, conflict and quarantined entity, and a list and an item of
    the tenant "other": every id that the "other" tenant, or the default one, must not reach."""
    todo = await make_list(session, tenant_id=other_tenant.tenant_id, name="Theirs")
    item = await make_item(session, todo_list=todo, description="Their item")
    run_id = (await client.post("/api/sync")).json()["run_id"]
    async with sessionmaker.begin() as writer:
        conflict = SyncConflict(
            connection_id=1, kind="list", local_id=1, field="name", winner="remote"
        )
        quarantined = SyncQuarantine(
            connection_id=1, kind="list", external_id="x", reason="r", raw={}
        )
        writer.add_all([conflict, quarantined])
        await writer.flush()
        ids = {"conflict": conflict.id, "quarantined": quarantined.id}
    return {
        "list": str(todo.id),
        "item": str(item.id),
        "run": str(run_id),
        "conflict": str(ids["conflict"]),
        "quarantined": str(ids["quarantined"]),
    }


# (document, variables from `theirs`): the default tenant asks for "other"'s list and item
ON_OTHERS_ROWS = [
    ("query($l: ID!) { list(id: $l) { id } }", ["list"]),
    ('mutation($l: ID!) { updateList(id: $l, name: "Mine") { id } }', ["list"]),
    ("mutation($l: ID!) { deleteList(id: $l) }", ["list"]),
    ('mutation($l: ID!) { createItem(listId: $l, description: "x") { id } }', ["list"]),
    (
        "mutation($l: ID!, $i: ID!) { updateItem(listId: $l, id: $i, completed: true) { id } }",
        ["list", "item"],
    ),
    ("mutation($l: ID!, $i: ID!) { deleteItem(listId: $l, id: $i) }", ["list", "item"]),
    ("mutation($l: ID!) { triggerSync(listId: $l) { runId } }", ["list"]),
]
# the tenant "other" (no connection) asks for the default tenant's sync rows
ON_DEFAULTS_SYNC_ROWS = [
    ("query($r: ID!) { run(id: $r) { id } }", ["run"]),
    ("mutation($c: ID!) { resolveConflict(id: $c, choice: LOCAL) { id } }", ["conflict"]),
    ("mutation($q: ID!) { replayQuarantined(id: $q) }", ["quarantined"]),
]
_VARIABLE = {"list": "l", "item": "i", "run": "r", "conflict": "c", "quarantined": "q"}


@pytest.mark.parametrize(("document", "names"), ON_OTHERS_ROWS)
async def test_another_tenants_lists_and_items_are_not_found(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    theirs: dict[str, str],
    document: str,
    names: list[str],
) -> None:
    """The default tenant cannot read, change, delete, add to or sync the other's rows."""
    variables = {_VARIABLE[name]: theirs[name] for name in names}
    assert codes(await gql(client, document, variables)) == ["NOT_FOUND"]
    stored_list = await load(engine, TodoList, int(theirs["list"]))
    stored_item = await load(engine, TodoItem, int(theirs["item"]))
    assert (stored_list.version, stored_list.deleted_at) == (1, None)
    assert (stored_item.version, stored_item.deleted_at) == (1, None)


@pytest.mark.parametrize(("document", "names"), ON_DEFAULTS_SYNC_ROWS)
async def test_another_tenants_sync_rows_are_not_found(
    other_client: httpx.AsyncClient, theirs: dict[str, str], document: str, names: list[str]
) -> None:
    """The tenant "other" reaches none of the default tenant's runs, conflicts, quarantine."""
    variables = {_VARIABLE[name]: theirs[name] for name in names}
    assert codes(await gql(other_client, document, variables)) == ["NOT_FOUND"]


async def test_collections_hold_only_own_rows(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, theirs: dict[str, str]
) -> None:
    """Lists, runs, conflicts, quarantine and status show only the asking tenant's rows."""
    everything = """{
      lists { edges { node { id items { edges { node { id } } } } } }
      runs { edges { node { id } } }
      conflicts { edges { node { id } } }
      quarantine { edges { node { id } } }
      syncStatus { openConflicts quarantined }
    }"""
    mine = await data(client, everything)
    assert mine["lists"]["edges"] == []
    assert [e["node"]["id"] for e in mine["runs"]["edges"]] == [theirs["run"]]
    others = await data(other_client, everything)
    (their_list,) = others["lists"]["edges"]
    assert their_list["node"]["id"] == theirs["list"]
    assert [e["node"]["id"] for e in their_list["node"]["items"]["edges"]] == [theirs["item"]]
    for name in ("runs", "conflicts", "quarantine"):
        assert others[name]["edges"] == []
    assert others["syncStatus"] == {"openConflicts": 0, "quarantined": 0}
    refused = await gql(other_client, "mutation { triggerSync { runId } }")
    assert codes(refused) == ["CONFLICT"]  # no connection: no runs, as on REST (409)
