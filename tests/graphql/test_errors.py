"""Errors carry a stable `extensions.code` and never internals; the guards refuse expensive
documents; a token is needed, and an admin token reads no tenant's data."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.api import make_client
from tests.graphql.helpers import codes, gql
from todosync.app import create_app
from todosync.config import load_settings
from todosync.errors import Throttled
from todosync.graphql import errors, schema


async def test_unknown_and_malformed_ids_are_not_found(client: httpx.AsyncClient) -> None:
    """An id that names nothing, or is no id at all, is NOT_FOUND (REST: 404)."""
    for list_id in ("424242", "abc", "0", "01", "99999999999999999999"):
        body = await gql(client, "query($id: ID!) { list(id: $id) { id } }", {"id": list_id})
        assert codes(body) == ["NOT_FOUND"], list_id
        assert body["data"] is None


async def test_invalid_text_is_validation(client: httpx.AsyncClient) -> None:
    """Text the store refuses (empty, NUL) is VALIDATION with the store's message."""
    for name in ("", "a\x00b"):
        body = await gql(
            client, "mutation($n: String!) { createList(name: $n) { id } }", {"n": name}
        )
        assert codes(body) == ["VALIDATION"]
        assert body["errors"][0]["message"].startswith("name: ")


async def test_documents_the_schema_refuses_are_validation(client: httpx.AsyncClient) -> None:
    """Syntax errors, unknown fields and wrong argument types are VALIDATION too."""
    for query in ("{ lists {", "{ nope }", '{ lists(first: "x") { pageInfo { hasNextPage } } }'):
        response = await client.post("/graphql", json={"query": query})
        assert codes(response.json()) == ["VALIDATION"], query


async def test_depth_beyond_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    """The deepest document of the schema runs; one level deeper is refused before it runs."""
    around = "items { edges { node { list { %s } } } }"
    deepest = "{ lists { edges { node { %s } } } }" % (around % "id")  # depth MAX_DEPTH
    assert codes(await gql(client, deepest)) == []
    deeper = "{ lists { edges { node { %s } } } }" % (around % (around % "id"))
    body = await gql(client, deeper)
    assert codes(body) == ["VALIDATION"]
    assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


async def test_too_many_aliases_are_refused(client: httpx.AsyncClient) -> None:
    """More aliases than `MAX_ALIASES` are refused before they run."""
    aliases = " ".join(f"a{i}: syncStatus {{ circuit }}" for i in range(schema.MAX_ALIASES + 1))
    assert codes(await gql(client, "{ " + aliases + " }")) == ["VALIDATION"]


async def test_a_body_above_the_limit_is_413(client: httpx.AsyncClient) -> None:
    """/graphql has REST's request-size limit."""
    query = "{ syncStatus { circuit } }" + " " * 2_000_000
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 413


async def test_no_token_is_unauthenticated(anonymous_client: httpx.AsyncClient) -> None:
    """Without a (valid) token every field is UNAUTHENTICATED and nothing is read or written."""
    body = await gql(anonymous_client, "{ lists { edges { cursor } } syncStatus { circuit } }")
    # a non-null root field's error nulls `data`, so graphql-core may report only the first
    assert set(codes(body)) == {"UNAUTHENTICATED"}
    body = await gql(anonymous_client, 'mutation { createList(name: "x") { id } }')
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_a_wrong_token_is_unauthenticated(app: FastAPI) -> None:
    """An unknown token is UNAUTHENTICATED."""
    async with make_client(app, token="not-a-token") as stranger:
        assert codes(await gql(stranger, "{ syncStatus { circuit } }")) == ["UNAUTHENTICATED"]


async def test_an_admin_token_is_forbidden(admin_client: httpx.AsyncClient) -> None:
    """An admin token reads no tenant's data: FORBIDDEN, like its 403 on tenant REST routes."""
    body = await gql(admin_client, "{ lists { edges { cursor } } }")
    assert codes(body) == ["FORBIDDEN"]


@pytest.mark.parametrize("enabled", [True, False])
async def test_graphiql_only_when_enabled(
    enabled: bool, database_url: str, engine: AsyncEngine
) -> None:
    """The IDE page is served only with `TODOSYNC_GRAPHIQL=true`."""
    settings = load_settings(database_url=database_url, graphiql=enabled)
    app = create_app(settings, engine=engine, dispatcher=False)
    async with make_client(app) as browser:
        response = await browser.get("/graphql", headers={"Accept": "text/html"})
    assert ("graphiql" in response.text.lower()) is enabled


def test_unexpected_errors_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    """An exception that is not ours answers INTERNAL with a fixed message; the details go to
    the log only."""
    leaked = RuntimeError("SELECT secret FROM api_tokens")
    error = errors.coded(GraphQLError(str(leaked), original_error=leaked, path=["lists"]))
    assert error.extensions == {"code": "INTERNAL"}
    assert "secret" not in error.message
    assert error.path == ["lists"]
    assert "RuntimeError" in caplog.text


def test_our_errors_keep_their_message() -> None:
    """Each of our error classes maps to its code and keeps its message."""
    for cls, code in errors.CODES:
        original = cls("t") if cls is not Throttled else Throttled(retry_after_s=3)
        error = errors.coded(GraphQLError(str(original), original_error=original))
        assert error.extensions == {"code": code}
        assert error.message == str(original)
