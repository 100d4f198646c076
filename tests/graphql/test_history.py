"""The history through GraphQL: `versions` of lists and items with their actor, and `asOf` /
`knownAt` reads of `list` and `lists`, the same answers as REST's, with VALIDATION for a bad
time and NOT_FOUND for another tenant's list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.api import TenantToken
from tests.fixtures.store import make_list
from tests.graphql.helpers import codes, data, gql
from todosync.auth import service as auth_service

CREATE = """mutation($name: String!) { createList(name: $name) { id } }"""
RENAME = """mutation($id: ID!, $name: String!) { updateList(id: $id, name: $name) { id } }"""
ADD_ITEM = """mutation($list: ID!, $text: String!) {
  createItem(listId: $list, description: $text) { id } }"""
VERSIONS = """query($id: ID!) { list(id: $id) {
  versions { edges { node { operation before after actorKind actorId validAt recordedAt } } }
  items { edges { node { versions { edges { node { operation actorKind } } } } } } } }"""
AS_OF = """query($id: ID!, $at: String, $known: String) {
  list(id: $id, asOf: $at, knownAt: $known) { name items { edges { node { description } } } }
  lists(asOf: $at, knownAt: $known) { edges { node { id name } } } }"""


async def test_versions_carry_the_writes_and_their_token(
    client: httpx.AsyncClient, tenant: TenantToken, session: AsyncSession
) -> None:
    """A list made and renamed through mutations has two versions, oldest first, each by
    `api` with the token's id; its item has its own."""
    list_id = (await data(client, CREATE, {"name": "Before"}))["createList"]["id"]
    await data(client, RENAME, {"id": list_id, "name": "After"})
    await data(client, ADD_ITEM, {"list": list_id, "text": "Milk"})
    token_id = await auth_service.token_id(session, token=tenant.token)
    assert token_id is not None

    found = (await data(client, VERSIONS, {"id": list_id}))["list"]
    versions = [edge["node"] for edge in found["versions"]["edges"]]
    assert [(v["operation"], v["after"]) for v in versions] == [
        ("created", {"name": "Before"}),
        ("updated", {"name": "After"}),
    ]
    assert versions[1]["before"] == {"name": "Before"}
    assert {(v["actorKind"], v["actorId"]) for v in versions} == {("api", token_id)}
    (item,) = found["items"]["edges"]
    assert [e["node"] for e in item["node"]["versions"]["edges"]] == [
        {"operation": "created", "actorKind": "api"}
    ]


async def test_as_of_reads_the_list_and_its_items_as_they_were(
    client: httpx.AsyncClient,
) -> None:
    """As of a moment between two writes, the list has its old name and the items it had
    then; `knownAt` before the rename knows nothing of it either; `lists` agrees."""
    list_id = (await data(client, CREATE, {"name": "Old"}))["createList"]["id"]
    await data(client, ADD_ITEM, {"list": list_id, "text": "Early"})
    moment = datetime.now(UTC).isoformat()  # after both writes were recorded, before the next
    await asyncio.sleep(0.01)
    await data(client, RENAME, {"id": list_id, "name": "New"})
    await data(client, ADD_ITEM, {"list": list_id, "text": "Late"})

    for variables in ({"at": moment}, {"known": moment}, {"at": moment, "known": moment}):
        found = await data(client, AS_OF, {"id": list_id, **variables})
        assert found["list"]["name"] == "Old", variables
        assert [e["node"]["description"] for e in found["list"]["items"]["edges"]] == ["Early"]
        assert [e["node"] for e in found["lists"]["edges"]] == [{"id": list_id, "name": "Old"}]
    now = await data(client, AS_OF, {"id": list_id})
    assert now["list"]["name"] == "New"
    assert len(now["list"]["items"]["edges"]) == 2


async def test_bad_times_are_validation_errors_and_other_tenants_lists_not_found(
    client: httpx.AsyncClient, session: AsyncSession, other_tenant: TenantToken
) -> None:
    theirs = await make_list(session, tenant_id=other_tenant.tenant_id, name="Theirs")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    long_ago = (datetime.now(UTC) - timedelta(days=3650)).isoformat()
    own = (await data(client, CREATE, {"name": "Mine"}))["createList"]["id"]
    for at in ("yesterday", "1700000000", future, long_ago):
        assert codes(await gql(client, AS_OF, {"id": own, "at": at})) == ["VALIDATION"], at
    assert codes(await gql(client, VERSIONS, {"id": str(theirs.id)})) == ["NOT_FOUND"]
    just_now = datetime.now(UTC).isoformat()
    assert codes(await gql(client, AS_OF, {"id": str(theirs.id), "at": just_now})) == ["NOT_FOUND"]
