"""The sync routes without a real run: queueing, coalescing, validation, quarantine, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.helpers import assert_problem
from tests.fixtures.api import TenantToken
from tests.fixtures.store import make_list
from todosync.sync.books.models import SyncConflict, SyncQuarantine

RUN_KEYS = {
    "id",
    "trigger",
    "status",
    "dry_run",
    "list_id",
    "started_at",
    "finished_at",
    "counts",
    "api_calls",
    "clock_skew_s",
    "errors",
    "reason",
}


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_post_queues_a_run_that_the_runs_list_shows(client: httpx.AsyncClient) -> None:
    """POST /api/sync answers 202 with a queued run, listed newest first with its shape."""
    response = await client.post("/api/sync")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    runs = (await client.get("/api/sync/runs")).json()
    assert runs["next_cursor"] is None
    (run,) = runs["data"]
    assert set(run) == RUN_KEYS
    assert (run["id"], run["status"], run["trigger"]) == (body["run_id"], "queued", "manual")
    detail = (await client.get(f"/api/sync/runs/{run['id']}")).json()
    assert set(detail) == RUN_KEYS | {"log", "plan"}
    assert detail["log"] == []


async def test_triggers_of_one_kind_coalesce_while_queued(client: httpx.AsyncClient) -> None:
    """A second trigger of the same kind joins the queued run; another kind gets its own."""
    first = (await client.post("/api/sync", json={})).json()["run_id"]
    again = (await client.post("/api/sync", json={"dry_run": False})).json()["run_id"]
    dry = (await client.post("/api/sync", json={"dry_run": True})).json()["run_id"]
    later = (await client.post("/api/sync", json={"delay_seconds": 60})).json()["run_id"]
    assert again == first == later
    assert dry != first


async def test_a_delayed_run_waits_and_is_the_next_run(client: httpx.AsyncClient) -> None:
    """delay_seconds queues a "delayed" run whose time shows as the status's next_run_at."""
    before = datetime.now(UTC)
    run_id = (await client.post("/api/sync", json={"delay_seconds": 120})).json()["run_id"]
    run = (await client.get(f"/api/sync/runs/{run_id}")).json()
    assert run["trigger"] == "delayed"
    status = (await client.get("/api/sync/status")).json()
    assert (_at(status["next_run_at"]) - before).total_seconds() >= 119


async def test_runs_page_newest_first(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The runs collection walks newest first across pages, each run once."""
    ids = [
        (await client.post("/api/sync", json={"list_id": (await make_list(session)).id})).json()[
            "run_id"
        ]
        for _ in range(3)
    ]
    first = (await client.get("/api/sync/runs", params={"limit": 2})).json()
    rest = (
        await client.get("/api/sync/runs", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [r["id"] for r in first["data"] + rest["data"]] == sorted(ids, reverse=True)
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"delay_seconds": -1},
        {"delay_seconds": 10**9},
        {"dry_run": "yes"},
        {"list_id": 0},
        {"surprise": 1},
    ],
)
async def test_invalid_trigger_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    """A bad or unknown field of POST /api/sync is a 422 problem."""
    assert_problem(await client.post("/api/sync", json=body), 422)


async def test_an_unknown_list_cannot_be_synced(
    client: httpx.AsyncClient, other_tenant: TenantToken, session: AsyncSession
) -> None:
    """A list_id that is unknown, or another tenant's, is a 404."""
    assert_problem(await client.post("/api/sync", json={"list_id": 999_999}), 404)
    theirs = await make_list(session, tenant_id=other_tenant.tenant_id)
    assert_problem(await client.post("/api/sync", json={"list_id": theirs.id}), 404)


@pytest.mark.parametrize(
    "query",
    [
        {"status": "closed"},
        {"limit": 0},
        {"cursor": "nope"},
        {"oops": "1"},
    ],
)
async def test_invalid_conflict_queries_are_422(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    """A bad status, limit, cursor or unknown parameter is a 422."""
    assert_problem(await client.get("/api/sync/conflicts", params=query), 422)


async def test_conflicts_are_listed_by_any_status(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """`status` takes open (the default), resolved, dismissed and obsolete; each lists its
    own conflicts only."""
    ids = {}
    async with sessionmaker.begin() as session:
        for status in ("open", "resolved", "dismissed", "obsolete"):
            conflict = SyncConflict(
                connection_id=1, kind="list", local_id=1, field="name", winner="remote",
                status=status,
            )  # fmt: skip
            session.add(conflict)
            await session.flush()
            ids[status] = conflict.id
    default = (await client.get("/api/sync/conflicts")).json()["data"]
    assert [c["id"] for c in default] == [ids["open"]]
    for status, conflict_id in ids.items():
        listed = (await client.get("/api/sync/conflicts", params={"status": status})).json()
        assert [(c["id"], c["status"]) for c in listed["data"]] == [(conflict_id, status)]


@pytest.mark.parametrize("entity", ["list", "list:", "list:0", "thing:1", "item:01", "list:1x"])
async def test_malformed_history_entities_are_422(client: httpx.AsyncClient, entity: str) -> None:
    """history needs entity=list:{id} or item:{id}."""
    assert_problem(await client.get("/api/sync/history", params={"entity": entity}), 422)
    assert_problem(await client.get("/api/sync/history"), 422)


async def test_an_untouched_entity_has_an_empty_history(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The tenant's own entity that no run touched, deleted or not, has an empty history."""
    todo = await make_list(session, name="Groceries")
    params = {"entity": f"list:{todo.id}"}
    body = (await client.get("/api/sync/history", params=params)).json()
    assert body == {"data": [], "next_cursor": None}
    assert (await client.delete(f"/api/todolists/{todo.id}")).status_code == 204
    body = (await client.get("/api/sync/history", params=params)).json()
    assert body == {"data": [], "next_cursor": None}


async def test_an_unknown_entity_has_no_history(client: httpx.AsyncClient) -> None:
    """An entity the tenant never had is a 404, like another tenant's (never an empty page)."""
    assert_problem(await client.get("/api/sync/history", params={"entity": "item:42"}), 404)


async def _quarantined(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker.begin() as session:
        row = SyncQuarantine(
            connection_id=1, kind="list", external_id="x1", reason="name is missing", raw={}
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_quarantine_lists_and_replays(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Quarantined entities are listed; a replay answers 202 and releases the entity."""
    row_id = await _quarantined(sessionmaker)
    (row,) = (await client.get("/api/sync/quarantine")).json()["data"]
    assert set(row) == {
        "id",
        "entity",
        "external_id",
        "local_id",
        "reason",
        "attempts",
        "next_retry_at",
        "created_at",
    }
    assert (row["id"], row["entity"], row["external_id"]) == (row_id, "list", "x1")
    assert (await client.get("/api/sync/status")).json()["quarantined"] == 1
    assert (await client.post(f"/api/sync/quarantine/{row_id}/replay")).status_code == 202
    assert (await client.get("/api/sync/quarantine")).json()["data"] == []
    assert_problem(await client.post(f"/api/sync/quarantine/{row_id}/replay"), 404)


async def test_dismissing_an_unknown_conflict_is_a_404(client: httpx.AsyncClient) -> None:
    """A conflict id that names no conflict of the tenant's is a 404 problem."""
    assert_problem(await client.post("/api/sync/conflicts/424242/dismiss"), 404)


async def test_another_tenant_sees_nothing(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A tenant without a connection sees empty collections and 404 for the others' ids."""
    run_id = (await client.post("/api/sync")).json()["run_id"]
    row_id = await _quarantined(sessionmaker)
    async with sessionmaker.begin() as session:
        conflict = SyncConflict(
            connection_id=1, kind="list", local_id=1, field="name", winner="remote"
        )
        session.add(conflict)
        await session.flush()
        conflict_id = conflict.id
    empty: dict[str, object] = {"data": [], "next_cursor": None}
    for path in ("/api/sync/runs", "/api/sync/conflicts", "/api/sync/quarantine"):
        assert (await other_client.get(path)).json() == empty
    assert_problem(await other_client.get(f"/api/sync/runs/{run_id}"), 404)
    assert_problem(await other_client.post(f"/api/sync/quarantine/{row_id}/replay"), 404)
    resolve = {"choice": "value", "value": "Mine"}
    assert_problem(
        await other_client.post(f"/api/sync/conflicts/{conflict_id}/resolve", json=resolve), 404
    )
    assert_problem(await other_client.post(f"/api/sync/conflicts/{conflict_id}/dismiss"), 404)
    assert_problem(await other_client.post("/api/sync"), 409)
    status = (await other_client.get("/api/sync/status")).json()
    assert status["last_run"] is None
    assert status["open_conflicts"] == status["quarantined"] == 0


async def test_sync_routes_need_a_token(anonymous_client: httpx.AsyncClient) -> None:
    """Every sync route answers 401 without a token."""
    for method, path in (
        ("POST", "/api/sync"),
        ("GET", "/api/sync/runs"),
        ("GET", "/api/sync/runs/1"),
        ("GET", "/api/sync/status"),
        ("GET", "/api/sync/conflicts"),
        ("POST", "/api/sync/conflicts/1/resolve"),
        ("POST", "/api/sync/conflicts/1/dismiss"),
        ("GET", "/api/sync/history?entity=list:1"),
        ("GET", "/api/sync/quarantine"),
        ("POST", "/api/sync/quarantine/1/replay"),
    ):
        assert_problem(await anonymous_client.request(method, path), 401)


@pytest.mark.parametrize(
    "body",
    [
        {"choice": "mine"},
        {"choice": "value"},
        {"choice": "local", "value": "x"},
        {"choice": "value", "value": ""},
        {"choice": "value", "value": 3},
    ],
)
async def test_invalid_resolutions_are_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, object],
) -> None:
    """A bad choice, a missing or stray value, or a value the field cannot hold is a 422."""
    todo = await make_list(session, name="Groceries")
    async with sessionmaker.begin() as write:
        conflict = SyncConflict(
            connection_id=1,
            kind="list",
            local_id=todo.id,
            field="name",
            base="Groceries",
            local="A",
            remote="B",
            winner="remote",
        )
        write.add(conflict)
        await write.flush()
        conflict_id = conflict.id
    response = await client.post(f"/api/sync/conflicts/{conflict_id}/resolve", json=body)
    assert_problem(response, 422)


@pytest.mark.parametrize("run_id", ["abc", "0", "-1", "01", str(2**63)])
async def test_malformed_ids_are_404(client: httpx.AsyncClient, run_id: str) -> None:
    """A path id that is not a canonical id from 1 to 2^63-1 names no run: 404."""
    assert_problem(await client.get(f"/api/sync/runs/{run_id}"), 404)
    assert_problem(await client.post(f"/api/sync/quarantine/{run_id}/replay"), 404)
    assert_problem(await client.post(f"/api/sync/conflicts/{run_id}/dismiss"), 404)


async def test_a_trigger_body_that_is_not_json_is_a_415(client: httpx.AsyncClient) -> None:
    """`POST /api/sync` with a body not declared as JSON is refused with 415 (as documented),
    while no body at all, or a JSON one, queues a run."""
    refused = await client.post(
        "/api/sync", content=b'{"dry_run": true}', headers={"Content-Type": "text/plain"}
    )
    assert_problem(refused, 415)
    form = await client.post("/api/sync", data={"dry_run": "true"})
    assert_problem(form, 415)
    empty_but_not_json = await client.post("/api/sync", headers={"Content-Type": "text/plain"})
    assert_problem(empty_but_not_json, 415)
    assert (await client.post("/api/sync")).status_code == 202
    assert (await client.post("/api/sync", json={"dry_run": True})).status_code == 202


async def test_history_of_an_id_beyond_any_row_is_not_found(client: httpx.AsyncClient) -> None:
    """An entity id past the largest id names nothing: 404, as such an id in a path does
    (the query's pattern cannot say the bound, so it is not a 422)."""
    response = await client.get("/api/sync/history", params={"entity": "item:9458094494184671302"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
