"""The README's GraphQL examples work as written."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.graphql.helpers import data

README = Path(__file__).parents[2] / "README.md"


def examples() -> dict[str, str]:
    """The `graphql` code blocks of the README's GraphQL section, by operation type."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## GraphQL\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```graphql\n(.*?)```", section, flags=re.S)
    return {block.split(maxsplit=1)[0]: block for block in blocks}


async def test_the_query_and_mutation_examples_run(client: httpx.AsyncClient) -> None:
    """The mutation creates a list, which the query then shows."""
    found = examples()
    created = (await data(client, found["mutation"]))["createList"]
    assert created["name"] == "Groceries"
    lists = (await data(client, found["query"]))["lists"]
    assert [edge["node"]["id"] for edge in lists["edges"]] == [created["id"]]
    assert lists["edges"][0]["node"]["items"]["edges"] == []
