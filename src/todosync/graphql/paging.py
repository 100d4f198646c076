"""Arguments of the Relay-style connections, checked as REST checks `?limit=&cursor=`
(`api.pagination`: the same limits, the same opaque cursors), and ids given as `ID`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import strawberry

from todosync.api import ids, pagination
from todosync.db.page import Page
from todosync.errors import NotFoundError, ValidationFailed
from todosync.graphql.types import Connection, Edge, PageInfo
from todosync.store.repository import MAX_ID

__all__ = ["connection", "parse_id", "start"]

RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")

_CURSOR = re.compile(pagination.CURSOR_PATTERN)
_CANONICAL = re.compile(ids.CANONICAL_ID)


def start(first: int, after: str | None) -> tuple[int, int]:
    """(after id, limit) of a page; `ValidationFailed` beyond REST's limits or for a cursor
    that is not one of ours."""
    if not 1 <= first <= pagination.MAX_LIMIT:
        raise ValidationFailed(f"first: must be 1 to {pagination.MAX_LIMIT}")
    if after is None:
        return 0, first
    if not _CURSOR.fullmatch(after):
        raise ValidationFailed("after: not a cursor of this API")
    return pagination.decode_cursor(after), first


def connection(page: Page[RowT], node: Callable[[RowT], NodeT]) -> Connection[NodeT]:
    """A service page as a connection; each edge's cursor starts the page after its row."""
    rows: Sequence[Any] = page.rows
    edges = [Edge(cursor=pagination.encode_cursor(row.id), node=node(row)) for row in rows]
    end = edges[-1].cursor if edges else None
    return Connection(
        edges=edges, page_info=PageInfo(has_next_page=page.last_id is not None, end_cursor=end)
    )


def parse_id(value: strawberry.ID, *, what: str) -> int:
    """An id as REST takes it in a path; anything else names nothing (`NotFoundError`)."""
    text = str(value)
    if not _CANONICAL.fullmatch(text) or int(text) > MAX_ID:
        raise NotFoundError(f"{what} {text[:30]!r} not found")
    return int(text)
