"""Sending GraphQL documents through the app's HTTP stack, and reading their answers."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["codes", "data", "gql"]


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POSTs `query` to /graphql and returns the JSON body (GraphQL answers 200 with errors)."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `data` of an answer that must have no errors."""
    body = await gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    found: dict[str, Any] = body["data"]
    return found


def codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of each error of an answer."""
    return [error["extensions"]["code"] for error in body.get("errors", [])]
