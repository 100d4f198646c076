"""Subscriptions over a real WebSocket against a real server: a run triggered through the
`triggerSync` mutation streams its events to its tenant's subscribers, and only to them;
connections without a valid tenant token are refused with 4401 (4403 for an admin token)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.fixtures.api import TenantToken, make_admin_token, make_tenant_token
from tests.fixtures.fake_external import FakeExternal
from tests.graphql.live import PROTOCOL, Subscriber, running_server, subscriber
from tests.graphql.test_readme import examples
from todosync import config
from todosync.db import engine as db_engine
from todosync.store import service as store_service
from todosync.store.models import Connection
from todosync.sync.books.models import SyncConflict

RUN_EVENTS = "subscription($run: ID) { runEvents(runId: $run) { kind data } }"
ENTITY_CHANGES = "subscription { entityChanges { kind data } }"


@pytest.fixture
def server_url(database_url: str, fake_external: FakeExternal) -> Iterator[str]:
    """`todosync serve`'s app, dispatcher included, syncing with the fake external API."""
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
        external_max_attempts=1,
    )
    with running_server(settings) as url:
        yield url


async def trigger(url: str, token: TenantToken) -> str:
    """Queues a run through the `triggerSync` mutation; returns its id."""
    async with httpx.AsyncClient(base_url=url, headers=token.headers, timeout=10) as client:
        response = await client.post(
            "/graphql", json={"query": "mutation { triggerSync { runId } }"}
        )
    body = response.json()
    assert "errors" not in body, body
    run_id: str = body["data"]["triggerSync"]["runId"]
    return run_id


async def until_finished(events: Subscriber, op_id: str, run_id: str) -> list[dict[str, Any]]:
    """The run's events up to and including `run.finished`."""
    seen = []
    while True:
        event = (await events.next(op_id))["runEvents"]
        seen.append(event)
        if event["kind"] == "run.finished" and str(event["data"]["run_id"]) == run_id:
            return seen


async def test_a_triggered_run_streams_its_events(
    server_url: str, tenant: TenantToken, fake_external: FakeExternal
) -> None:
    """Subscribed to the run's events and to entity changes, a client sees the run it
    triggered start, progress and finish, and the entities it created locally."""
    fake_external.create_list("Groceries", items=["Milk", "Eggs"])
    async with subscriber(server_url, token=tenant.token) as events:
        runs = await events.subscribe(RUN_EVENTS)
        changes = await events.subscribe(ENTITY_CHANGES)
        run_id = await trigger(server_url, tenant)
        seen = await until_finished(events, runs, run_id)
        changed = [(await events.next(changes))["entityChanges"] for _ in range(3)]
    kinds = [event["kind"] for event in seen]
    assert kinds[0] == "run.started"
    assert kinds[-1] == "run.finished"
    assert seen[-1]["data"]["status"] == "ok"
    assert all(str(event["data"]["run_id"]) == run_id for event in seen)
    assert sorted(c["data"]["entity"] for c in changed) == ["item", "item", "list"]


async def test_another_tenant_receives_none_of_it(
    server_url: str, tenant: TenantToken, engine: AsyncEngine, fake_external: FakeExternal
) -> None:
    """Two tenants subscribed at once: each receives only its own run's events."""
    other = await make_tenant_token(engine, name="other")
    async with db_engine.create_sessionmaker(engine).begin() as session:
        session.add(Connection(tenant_id=other.tenant_id, name="other"))
    fake_external.create_list("Groceries", items=["Milk"])
    async with (
        subscriber(server_url, token=tenant.token) as ours,
        subscriber(server_url, token=other.token) as theirs,
    ):
        our_op = await ours.subscribe(RUN_EVENTS)
        their_op = await theirs.subscribe(RUN_EVENTS)
        first = await trigger(server_url, tenant)
        await until_finished(ours, our_op, first)
        second = await trigger(server_url, other)
        seen = await until_finished(theirs, their_op, second)
    # their first event is their own run's start: nothing of ours came before it
    assert seen[0]["kind"] == "run.started"
    assert {str(event["data"]["run_id"]) for event in seen} == {second}


async def test_the_readme_subscription_example_runs(
    server_url: str, tenant: TenantToken, fake_external: FakeExternal
) -> None:
    """The README's subscription example receives a triggered run's events."""
    async with subscriber(server_url, token=tenant.token) as events:
        op_id = await events.subscribe(examples()["subscription"])
        run_id = await trigger(server_url, tenant)
        while True:
            event = next(iter((await events.next(op_id)).values()))
            if event["kind"] == "run.finished" and str(event["data"]["run_id"]) == run_id:
                break


async def _close_code(url: str, payload: dict[str, Any]) -> int | None:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=[PROTOCOL]) as socket_:  # type: ignore[list-item]
        await socket_.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed):
            await socket_.recv()
        return socket_.close_code


async def test_refused_connections(server_url: str, engine: AsyncEngine) -> None:
    """No token or a wrong one: closed with 4401 before any ack; an admin token: 4403."""
    assert await _close_code(server_url, {}) == 4401
    assert await _close_code(server_url, {"Authorization": "Bearer nope"}) == 4401
    admin = await make_admin_token(engine)
    assert await _close_code(server_url, {"Authorization": f"Bearer {admin}"}) == 4403


async def test_the_conflicts_subscription_sees_a_resolution(
    server_url: str, tenant: TenantToken, engine: AsyncEngine
) -> None:
    """`resolveConflict` over HTTP reaches a `conflicts` subscriber as `conflict.resolved`."""
    async with db_engine.create_sessionmaker(engine).begin() as session:
        todo = await store_service.create_list(session, tenant_id=tenant.tenant_id, name="Old")
        conflict = SyncConflict(
            connection_id=1,
            kind="list",
            local_id=todo.id,
            field="name",
            base="Base",
            local="Old",
            remote="New",
            winner="remote",
        )
        session.add(conflict)
        await session.flush()
        conflict_id = conflict.id
    resolve = "mutation($id: ID!) { resolveConflict(id: $id, choice: LOCAL) { status } }"
    async with subscriber(server_url, token=tenant.token) as events:
        op_id = await events.subscribe("subscription { conflicts { kind data } }")
        async with httpx.AsyncClient(base_url=server_url, headers=tenant.headers) as client:
            body = {"query": resolve, "variables": {"id": str(conflict_id)}}
            answer = (await client.post("/graphql", json=body)).json()
        assert answer.get("data"), answer
        assert answer["data"]["resolveConflict"]["status"] == "RESOLVED", answer
        event = (await events.next(op_id))["conflicts"]
    assert event == {"kind": "conflict.resolved", "data": {"id": conflict_id}}


async def test_queries_over_the_websocket_are_refused(server_url: str, tenant: TenantToken) -> None:
    """A query sent over the WebSocket gets one VALIDATION error: they belong on HTTP."""
    async with subscriber(server_url, token=tenant.token) as events:
        payload = {"query": "{ syncStatus { circuit } }"}
        await events.socket.send(json.dumps({"id": "q", "type": "subscribe", "payload": payload}))
        message = json.loads(await asyncio.wait_for(events.socket.recv(), timeout=30))
    assert message["type"] == "next", message
    (error,) = message["payload"]["errors"]
    assert "extensions" in error, message
    assert error["extensions"]["code"] == "VALIDATION"
