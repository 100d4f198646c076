"""The isolation walk: every route of `/openapi.json`, with two tenants' tokens and an admin
token, over a real server whose dispatcher syncs tenant A against the fake external API.

Tenant A (the default tenant) has data in everything: lists, items, two runs with their log,
an open conflict, a quarantined entity, entity history and live events. Tenant B (with a
connection of its own) must reach none of it: A's ids answer 404 on every route that takes
one, listings show none of A's rows, B's status is its own connection's, and B's event stream
carries none of A's events. The admin token gets 403 on every tenant route, and sees both
connections' health on `/api/admin/connections`. The route table is `walk.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import assert_problem
from tests.dashboard import live_server
from tests.fixtures.api import TenantToken, make_admin_token
from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import remote_list_id
from tests.tenancy import walk
from tests.tenancy.sse import EventStream, Sse, open_stream
from todosync import config
from todosync.app import create_app
from todosync.db import engine as db_engine
from todosync.store.models import Connection

SECRET = "Secret plans"  # A's list: no answer to B or the admin may carry it


@pytest.fixture
def server_url(database_url: str, fake_external: FakeExternal) -> Iterator[str]:
    """The whole app, its dispatcher included, on a real server; no periodic runs."""
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
        external_max_attempts=1,
        sync_interval_seconds=0,
    )
    running = live_server.start(create_app(settings))
    yield running.url
    running.stop()


@pytest.fixture
async def clients(
    server_url: str,
    tenant: TenantToken,
    other_tenant: TenantToken,
    engine: AsyncEngine,
    fake_external: FakeExternal,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of tenant A (the default tenant), tenant B ("other", with a connection of its
    own: the same fake's URL, but no token, so the fake refuses every call of B's) and an
    admin token."""
    async with db_engine.create_sessionmaker(engine).begin() as session:
        session.add(
            Connection(
                tenant_id=other_tenant.tenant_id,
                name="other's",
                external_api_url=fake_external.url,
            )
        )
    admin = {"Authorization": f"Bearer {await make_admin_token(engine)}"}
    async with (
        httpx.AsyncClient(base_url=server_url, headers=tenant.headers) as a,
        httpx.AsyncClient(base_url=server_url, headers=other_tenant.headers) as b,
        httpx.AsyncClient(base_url=server_url, headers=admin) as admin_client,
    ):
        yield a, b, admin_client


async def _synced(client: httpx.AsyncClient) -> dict[str, Any]:
    """Queues a run of the client's tenant and returns it once the dispatcher finished it."""
    response = await client.post("/api/sync")
    assert response.status_code == 202, response.text
    path = f"/api/sync/runs/{response.json()['run_id']}"
    for _ in range(400):
        run: dict[str, Any] = (await client.get(path)).json()
        if run["finished_at"] is not None:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} did not finish")


async def _give_a_everything(a: httpx.AsyncClient, fake: FakeExternal) -> walk.Theirs:
    """Lists and items through the API, then two real runs: the first quarantines a bad
    remote list, the second records a conflict (renamed on both sides, remote later)."""
    fake.load_state([{"id": "bad", "name": "Bad", "items": "oops"}])
    todo = (await a.post("/api/todolists", json={"name": SECRET})).json()
    spare = (await a.post("/api/todolists", json={"name": "Spare"})).json()
    path = f"/api/todolists/{todo['id']}/items"
    items = [(await a.post(path, json={"description": d})).json() for d in ("Milk", "Eggs")]
    first = await _synced(a)
    await a.patch(f"/api/todolists/{todo['id']}", json={"name": f"{SECRET} (local)"})
    await asyncio.sleep(0.01)  # the remote rename is the later write
    fake.update_list(remote_list_id(fake.state(), SECRET), name=f"{SECRET} (remote)")
    second = await _synced(a)
    conflicts = (await a.get("/api/sync/conflicts")).json()["data"]
    quarantine = (await a.get("/api/sync/quarantine")).json()["data"]
    return walk.Theirs(
        list_ids=frozenset({todo["id"], spare["id"]}),
        item_ids=frozenset(item["id"] for item in items),
        run_ids=frozenset({first["id"], second["id"]}),
        conflict_ids=frozenset(c["id"] for c in conflicts),
        quarantine_ids=frozenset(q["id"] for q in quarantine),
    )


def _finished(run_id: int) -> Callable[[Sse], bool]:
    return lambda sse: sse.event == "run.finished" and sse.data["data"]["run_id"] == run_id


async def _views_of(a: httpx.AsyncClient, theirs: walk.Theirs) -> list[Any]:
    """What A reads of its own rows (to see that nothing B did changed them)."""
    paths = [f"/api/todolists/{list_id}" for list_id in sorted(theirs.list_ids)]
    paths += [f"/api/todolists/{theirs.list_id}/items", "/api/sync/conflicts"]
    paths += ["/api/sync/quarantine", "/api/sync/runs"]
    paths += [f"/api/sync/history?entity=list:{theirs.list_id}"]
    return [(await a.get(path)).json() for path in paths]


async def _walk_as_b(b: httpx.AsyncClient, theirs: walk.Theirs, *, own_list_id: int) -> None:
    for probe in walk.probes(theirs, own_list_id=own_list_id):
        response = await b.request(probe.route[0], probe.path, json=probe.body)
        where = f"{probe.route[0]} {probe.path}"
        assert response.status_code == probe.status, f"{where}: {response.text}"
        assert SECRET not in response.text, where
        if probe.status == 404:
            assert_problem(response, 404)
        if probe.shown is not None:
            assert not probe.shown(response.json()) & probe.forbidden_ids, where


async def _walk_as_admin(admin: httpx.AsyncClient, theirs: walk.Theirs, *, own: int) -> None:
    tenant_routes = [*walk.probes(theirs, own_list_id=own)]
    for probe in tenant_routes:
        response = await admin.request(probe.route[0], probe.path, json=probe.body)
        assert_problem(response, 403)
        assert SECRET not in response.text
    for method, path in walk.STREAMS:
        assert_problem(await admin.request(method, path), 403)


async def test_another_tenant_reaches_nothing_and_an_admin_reads_only_health(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient],
    server_url: str,
    tenant: TenantToken,
    other_tenant: TenantToken,
    fake_external: FakeExternal,
) -> None:
    """Every route of /openapi.json is walked; B gets 404 for A's ids, listings, status and
    events without A's rows; the admin gets 403 on tenant routes and health on its own."""
    a, b, admin = clients
    async with (
        open_stream(server_url, token=tenant.token) as a_events,
        open_stream(server_url, token=other_tenant.token) as b_events,
    ):
        theirs = await _give_a_everything(a, fake_external)
        await _a_saw_its_events(a_events, theirs)
        # B's connection sends no token, so the fake refuses it: B's run fails at its pull,
        # reads none of A's remote data, and its `run.finished` marks the point by which any
        # of A's events would have reached B.
        b_run = await _synced(b)
        b_seen = await b_events.until(_finished(b_run["id"]))
    assert {sse.data["tenant_id"] for sse in b_seen} == {other_tenant.tenant_id}
    assert {sse.data["data"].get("run_id") for sse in b_seen} == {b_run["id"]}

    document = (await b.get("/openapi.json")).json()
    own = (await b.post("/api/todolists", json={"name": "B's own"})).json()["id"]
    table = walk.probes(theirs, own_list_id=own)
    covered = {p.route for p in table} | set(walk.EXEMPT) | walk.ADMIN | walk.STREAMS
    assert walk.routes_of(document) == covered, "a route is missing from tests/tenancy/walk.py"

    before = await _views_of(a, theirs)
    await _walk_as_b(b, theirs, own_list_id=own)
    await _check_b_status(b, b_run)
    for method, path in walk.ADMIN:
        assert_problem(await b.request(method, path), 403)
    for method, path in walk.EXEMPT:
        assert SECRET not in (await b.request(method, path)).text
    assert await _views_of(a, theirs) == before

    await _walk_as_admin(admin, theirs, own=own)
    await _check_admin_view(admin, theirs, b_run=b_run, fake=fake_external)


async def _a_saw_its_events(events: EventStream, theirs: walk.Theirs) -> None:
    """A's own stream carried its runs (so the events B must not get were published)."""
    seen = await events.until(_finished(max(theirs.run_ids)))
    kinds = {sse.event for sse in seen}
    assert {"run.started", "entity.changed", "conflict.opened", "run.finished"} <= kinds
    assert len(theirs.conflict_ids) == len(theirs.quarantine_ids) == 1


async def _check_b_status(b: httpx.AsyncClient, b_run: dict[str, Any]) -> None:
    status = (await b.get("/api/sync/status")).json()
    assert status["last_run"]["id"] == b_run["id"]
    assert status["last_success_at"] is None
    assert (status["open_conflicts"], status["quarantined"]) == (0, 0)


async def _check_admin_view(
    admin: httpx.AsyncClient,
    theirs: walk.Theirs,
    *,
    b_run: dict[str, Any],
    fake: FakeExternal,
) -> None:
    response = await admin.get("/api/admin/connections")
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    assert (fake.token or "") not in response.text
    a_entry, b_entry = response.json()["data"]
    assert a_entry["tenant"] == "default"
    assert a_entry["last_run"]["id"] == max(theirs.run_ids)
    assert (a_entry["open_conflicts"], a_entry["quarantined"]) == (1, 1)
    assert a_entry["health"] == "attention"
    assert a_entry["lag_s"] is None or a_entry["lag_s"] >= 0
    assert (b_entry["tenant"], b_entry["last_run"]["id"]) == ("other", b_run["id"])
    assert (b_entry["health"], b_entry["open_conflicts"]) == ("failing", 0)
