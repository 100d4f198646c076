"""Queries over HTTP: lists with their items as cursor connections, runs, status, conflicts
and quarantine, the same data as the REST routes show."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.store import make_item, make_list
from tests.graphql.helpers import codes, data, gql
from todosync.sync.books.models import SyncConflict, SyncQuarantine

LISTS = """
query Lists($first: Int!, $after: String, $items: Int!) {
  lists(first: $first, after: $after) {
    edges { cursor node { id name items(first: $items) {
      edges { node { id description completed } } pageInfo { hasNextPage endCursor } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_lists_page_with_their_items(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """`lists` pages oldest first; each list's `items` is its own connection."""
    first = await make_list(session, name="One")
    second = await make_list(session, name="Two")
    for text in ("a", "b", "c"):
        await make_item(session, todo_list=first, description=text)
    page = (await data(client, LISTS, {"first": 1, "items": 2}))["lists"]
    (edge,) = page["edges"]
    assert edge["node"]["name"] == "One"
    items = edge["node"]["items"]
    assert [e["node"]["description"] for e in items["edges"]] == ["a", "b"]
    assert items["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"] == {"hasNextPage": True, "endCursor": edge["cursor"]}
    after = {"first": 1, "after": edge["cursor"], "items": 2}
    rest = (await data(client, LISTS, after))["lists"]
    assert [e["node"]["id"] for e in rest["edges"]] == [str(second.id)]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_one_list_by_id(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """`list(id)` reads one list; its items page with `after`."""
    todo = await make_list(session, name="Groceries")
    items = [await make_item(session, todo_list=todo, description=t) for t in ("x", "y")]
    query = """query($id: ID!, $after: String) { list(id: $id) { name
      items(first: 1, after: $after) { edges { cursor node { id listId } } } } }"""
    found = (await data(client, query, {"id": str(todo.id)}))["list"]
    (edge,) = found["items"]["edges"]
    assert edge["node"] == {"id": str(items[0].id), "listId": str(todo.id)}
    later = await data(client, query, {"id": str(todo.id), "after": edge["cursor"]})
    assert [e["node"]["id"] for e in later["list"]["items"]["edges"]] == [str(items[1].id)]


async def test_paging_limits_are_rests(client: httpx.AsyncClient) -> None:
    """`first` beyond 1..200 and a foreign cursor are VALIDATION errors, as REST's 422."""
    for variables in ({"first": 0, "items": 1}, {"first": 201, "items": 1}):
        assert codes(await gql(client, LISTS, variables)) == ["VALIDATION"]
    bad_cursor = {"first": 1, "after": "not-a-cursor!", "items": 1}
    assert codes(await gql(client, LISTS, bad_cursor)) == ["VALIDATION"]


async def test_runs_status_conflicts_and_quarantine(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A triggered run is listed, readable with its log, and counted in the status; conflicts
    and quarantine are listed."""
    run_id = (await client.post("/api/sync")).json()["run_id"]
    async with sessionmaker.begin() as session:
        session.add(
            SyncConflict(connection_id=1, kind="list", local_id=1, field="name", winner="remote")
        )
        session.add(
            SyncQuarantine(connection_id=1, kind="list", external_id="x1", reason="bad", raw={})
        )
    query = """query($run: ID!) {
      runs { edges { node { id status trigger counts } } }
      run(id: $run) { id status dryRun log { action } }
      syncStatus { lastRun { id } circuit openConflicts quarantined }
      conflicts(status: OPEN) { edges { node { entity field winner status } } }
      quarantine { edges { node { entity externalId reason } } }
    }"""
    found = await data(client, query, {"run": str(run_id)})
    assert [e["node"]["id"] for e in found["runs"]["edges"]] == [str(run_id)]
    assert found["runs"]["edges"][0]["node"]["status"] == "QUEUED"
    assert found["run"] == {"id": str(run_id), "status": "QUEUED", "dryRun": False, "log": []}
    assert found["syncStatus"]["circuit"] == "closed"
    assert (found["syncStatus"]["openConflicts"], found["syncStatus"]["quarantined"]) == (1, 1)
    (conflict,) = found["conflicts"]["edges"]
    assert conflict["node"] == {
        "entity": "list",
        "field": "name",
        "winner": "remote",
        "status": "OPEN",
    }
    (quarantined,) = found["quarantine"]["edges"]
    assert quarantined["node"] == {"entity": "list", "externalId": "x1", "reason": "bad"}


async def test_queries_over_get(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A query may come as `GET /graphql?query=...`; a mutation over GET is refused."""
    await make_list(session, name="Via GET")
    response = await client.get(
        "/graphql", params={"query": "{ lists { edges { node { name } } } }"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["lists"]["edges"] == [{"node": {"name": "Via GET"}}]
    mutation = 'mutation { createList(name: "no") { id } }'
    assert (await client.get("/graphql", params={"query": mutation})).status_code == 400
