"""Mutations over HTTP: list and item writes, sync triggers, conflict resolution and replay,
through the same services (and so the same rules) as REST."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.store import load
from tests.graphql.helpers import codes, data, gql
from todosync.store.models import TodoItem, TodoList
from todosync.sync.books.models import SyncConflict, SyncQuarantine


async def test_list_and_item_writes(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """Create, update and delete a list and an item; versions move as with REST."""
    created = await data(client, 'mutation { createList(name: "Trip") { id name } }')
    list_id = created["createList"]["id"]
    item = await data(
        client,
        'mutation($l: ID!) { createItem(listId: $l, description: "Tent") { id completed } }',
        {"l": list_id},
    )
    item_id = item["createItem"]["id"]
    assert item["createItem"]["completed"] is False
    changed = await data(
        client,
        """mutation($l: ID!, $i: ID!) {
          updateList(id: $l, name: "Hike") { name }
          updateItem(listId: $l, id: $i, completed: true) { completed description }
        }""",
        {"l": list_id, "i": item_id},
    )
    assert changed == {
        "updateList": {"name": "Hike"},
        "updateItem": {"completed": True, "description": "Tent"},
    }
    assert (await load(engine, TodoList, int(list_id))).version == 2
    deleted = await data(
        client,
        "mutation($l: ID!, $i: ID!) { deleteItem(listId: $l, id: $i) deleteList(id: $l) }",
        {"l": list_id, "i": item_id},
    )
    assert deleted == {"deleteItem": item_id, "deleteList": list_id}
    assert (await load(engine, TodoItem, int(item_id))).deleted_at is not None
    assert (await load(engine, TodoList, int(list_id))).deleted_at is not None


async def test_a_failed_mutation_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """An operation with an error rolls back as a whole: the list created before it is gone."""
    body = await gql(
        client, 'mutation { a: createList(name: "Kept?") { id } b: deleteList(id: "999999") }'
    )
    assert codes(body) == ["NOT_FOUND"]
    assert (await data(client, "{ lists { edges { node { id } } } }"))["lists"]["edges"] == []


async def test_trigger_sync_queues_a_run(client: httpx.AsyncClient) -> None:
    """`triggerSync` queues a run like `POST /api/sync`, coalescing triggers of one kind."""
    first = await data(client, "mutation { triggerSync { runId status } }")
    again = await data(client, "mutation { triggerSync(delaySeconds: 30) { runId } }")
    dry = await data(client, "mutation { triggerSync(dryRun: true) { runId } }")
    assert first["triggerSync"]["status"] == "queued"
    assert again["triggerSync"]["runId"] == first["triggerSync"]["runId"]
    assert dry["triggerSync"]["runId"] != first["triggerSync"]["runId"]
    runs = (await client.get("/api/sync/runs")).json()["data"]
    assert {str(run["id"]) for run in runs} == {
        first["triggerSync"]["runId"],
        dry["triggerSync"]["runId"],
    }


async def test_trigger_sync_checks_like_rest(client: httpx.AsyncClient) -> None:
    """A negative delay is VALIDATION, an unknown list NOT_FOUND."""
    assert codes(await gql(client, "mutation { triggerSync(delaySeconds: -1) { runId } }")) == [
        "VALIDATION"
    ]
    unknown = 'mutation { triggerSync(listId: "424242") { runId } }'
    assert codes(await gql(client, unknown)) == ["NOT_FOUND"]


async def test_resolve_conflict_and_replay_quarantined(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Resolving writes the chosen value and closes the conflict (twice: CONFLICT); a replay
    releases the quarantined entity (twice: NOT_FOUND)."""
    list_id = (await data(client, 'mutation { createList(name: "Old") { id } }'))["createList"][
        "id"
    ]
    async with sessionmaker.begin() as writer:
        conflict = SyncConflict(
            connection_id=1, kind="list", local_id=int(list_id), field="name", winner="remote"
        )
        quarantined = SyncQuarantine(
            connection_id=1, kind="list", external_id="x1", reason="bad", raw={}
        )
        writer.add_all([conflict, quarantined])
        await writer.flush()
        conflict_id, quarantine_id = conflict.id, quarantined.id
    resolve = """mutation($id: ID!) {
      resolveConflict(id: $id, choice: VALUE, value: "New") { status resolution } }"""
    found = await data(client, resolve, {"id": str(conflict_id)})
    assert found["resolveConflict"]["status"] == "RESOLVED"
    assert found["resolveConflict"]["resolution"]["value"] == "New"
    assert (await data(client, f'{{ list(id: "{list_id}") {{ name }} }}'))["list"]["name"] == "New"
    assert codes(await gql(client, resolve, {"id": str(conflict_id)})) == ["CONFLICT"]
    replay = "mutation($id: ID!) { replayQuarantined(id: $id) }"
    assert (await data(client, replay, {"id": str(quarantine_id)})) == {
        "replayQuarantined": str(quarantine_id)
    }
    assert codes(await gql(client, replay, {"id": str(quarantine_id)})) == ["NOT_FOUND"]


async def test_resolving_with_a_value_needs_one(client: httpx.AsyncClient) -> None:
    """`choice: VALUE` without a `value` is VALIDATION (REST's request model decides)."""
    body = await gql(client, 'mutation { resolveConflict(id: "1", choice: VALUE) { id } }')
    assert codes(body) == ["VALIDATION"]
