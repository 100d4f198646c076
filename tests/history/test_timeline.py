"""The scripted timeline of issue 17, asked at every `as_of` x `known_at` pair: a list is
created, renamed here, renamed remotely (a change that arrives late, at the next sync, with
the earlier remote `updated_at` as its valid time), then deleted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.sync.conftest import RunSync
from todosync.clock import iso_utc, utc_now

# Moments between the steps: T0 before the create, Ta after it, Tb after the local rename,
# Tc after the remote rename (not yet pulled), Td after the sync that pulls it, Te after
# the delete.
MOMENTS = ("T0", "Ta", "Tb", "Tc", "Td", "Te")

# The name of the list at (as_of row, known_at column); "-" is a 404.
EXPECTED = {
    "T0": ["-", "-", "-", "-", "-", "-"],
    "Ta": ["-", "A", "A", "A", "A", "A"],
    "Tb": ["-", "A", "B", "B", "B", "B"],
    "Tc": ["-", "A", "B", "B", "C", "C"],
    "Td": ["-", "A", "B", "B", "C", "C"],
    "Te": ["-", "A", "B", "B", "C", "-"],
}


@dataclass
class Timeline:
    list_id: int
    item_id: int
    at: dict[str, datetime]


async def _mark() -> datetime:
    """A moment strictly between the step before and the step after."""
    await asyncio.sleep(0.02)
    moment = utc_now()
    await asyncio.sleep(0.02)
    return moment


@pytest.fixture
async def timeline(
    client: httpx.AsyncClient, fake_external: FakeExternal, run_sync: RunSync
) -> Timeline:
    at = {"T0": await _mark()}
    created = (await client.post("/api/todolists", json={"name": "A"})).json()
    list_id = created["id"]
    item = await client.post(f"/api/todolists/{list_id}/items", json={"description": "milk"})
    assert (await run_sync()).status == "ok"
    at["Ta"] = await _mark()
    await client.patch(f"/api/todolists/{list_id}", json={"name": "B"})
    assert (await run_sync()).status == "ok"  # pushes B
    at["Tb"] = await _mark()
    fake_external.update_list(fake_external.state()[0]["id"], name="C")
    at["Tc"] = await _mark()
    assert (await run_sync()).status == "ok"  # pulls C, which happened before Tc
    at["Td"] = await _mark()
    assert (await client.delete(f"/api/todolists/{list_id}")).status_code == 204
    at["Te"] = await _mark()
    return Timeline(list_id, item.json()["id"], at)


def _params(timeline: Timeline, as_of: str, known_at: str) -> dict[str, str]:
    return {"as_of": iso_utc(timeline.at[as_of]), "known_at": iso_utc(timeline.at[known_at])}


async def test_every_as_of_and_known_at_pair_gives_the_expected_list(
    client: httpx.AsyncClient, timeline: Timeline
) -> None:
    """The list's name (or its absence) at every pair of moments matches the table."""
    seen: dict[str, list[str]] = {}
    for as_of in MOMENTS:
        seen[as_of] = []
        for known_at in MOMENTS:
            response = await client.get(
                f"/api/todolists/{timeline.list_id}", params=_params(timeline, as_of, known_at)
            )
            assert response.status_code in (200, 404), response.text
            seen[as_of].append(response.json()["name"] if response.status_code == 200 else "-")

    assert seen == EXPECTED


async def test_the_items_of_the_list_follow_the_list_through_time(
    client: httpx.AsyncClient, timeline: Timeline
) -> None:
    """The item is there whenever the list is; after the delete the list answers 404."""
    for as_of in MOMENTS:
        for known_at in MOMENTS:
            response = await client.get(
                f"/api/todolists/{timeline.list_id}/items",
                params=_params(timeline, as_of, known_at),
            )
            if EXPECTED[as_of][MOMENTS.index(known_at)] == "-":
                assert response.status_code == 404, (as_of, known_at)
            else:
                assert [i["description"] for i in response.json()["data"]] == ["milk"]


async def test_the_collection_as_of_a_time_shows_the_lists_of_that_time(
    client: httpx.AsyncClient, timeline: Timeline
) -> None:
    """`GET /api/todolists?as_of=T` lists what existed at T, as known now."""
    names = {}
    for as_of in MOMENTS:
        response = await client.get("/api/todolists", params={"as_of": iso_utc(timeline.at[as_of])})
        names[as_of] = [todo["name"] for todo in response.json()["data"]]

    assert names == {"T0": [], "Ta": ["A"], "Tb": ["B"], "Tc": ["C"], "Td": ["C"], "Te": []}


async def test_versions_list_every_change_with_its_actor_and_both_times(
    client: httpx.AsyncClient, tenant: TenantToken, timeline: Timeline
) -> None:
    """Four versions, oldest first: the API's create and rename, the run's pulled rename
    (valid before it was recorded), the API's delete."""
    response = await client.get(f"/api/todolists/{timeline.list_id}/versions")

    versions = response.json()["data"]
    assert [(v["operation"], v["after"], v["actor"]["kind"]) for v in versions] == [
        ("created", {"name": "A"}, "api"),
        ("updated", {"name": "B"}, "api"),
        ("updated", {"name": "C"}, "sync"),
        ("deleted", None, "api"),
    ]
    assert versions[0]["actor"]["id"] is not None
    pulled = versions[2]
    assert pulled["valid_at"] < iso_utc(timeline.at["Tc"]) < pulled["recorded_at"]
    assert response.json()["next_cursor"] is None


async def test_item_versions_page_oldest_first(
    client: httpx.AsyncClient, timeline: Timeline
) -> None:
    """The item's versions come in pages of `limit`, joined by the cursor."""
    path = f"/api/todolists/{timeline.list_id}/items/{timeline.item_id}/versions"
    first = (await client.get(path, params={"limit": 1})).json()
    second = (await client.get(path, params={"limit": 1, "cursor": first["next_cursor"]})).json()

    assert [v["operation"] for v in first["data"] + second["data"]] == ["created", "deleted"]
    assert second["next_cursor"] is None


async def test_another_tenant_sees_none_of_it(
    other_client: httpx.AsyncClient, timeline: Timeline
) -> None:
    """Versions and past reads of another tenant's list are 404s, and its past is empty."""
    params = {"as_of": iso_utc(timeline.at["Tb"])}
    list_path = f"/api/todolists/{timeline.list_id}"

    assert (await other_client.get(list_path, params=params)).status_code == 404
    assert (await other_client.get(f"{list_path}/items", params=params)).status_code == 404
    assert (await other_client.get(f"{list_path}/versions")).status_code == 404
    item_versions = f"{list_path}/items/{timeline.item_id}/versions"
    assert (await other_client.get(item_versions)).status_code == 404
    past = await other_client.get("/api/todolists", params=params)
    assert past.json()["data"] == []


async def test_known_at_alone_answers_what_the_api_said_then(
    client: httpx.AsyncClient, timeline: Timeline
) -> None:
    """`known_at=T` without `as_of` is the state at T as known at T: B before the late pull."""
    path = f"/api/todolists/{timeline.list_id}"
    before_pull = await client.get(path, params={"known_at": iso_utc(timeline.at["Tc"])})
    after_pull = await client.get(path, params={"known_at": iso_utc(timeline.at["Td"])})

    assert (before_pull.json()["name"], after_pull.json()["name"]) == ("B", "C")
