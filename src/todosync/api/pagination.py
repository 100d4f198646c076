"""Cursor pagination: `?limit=&cursor=`, keyset on id ascending.

The cursor is opaque to clients: the last id of the page as 8 big-endian bytes in URL-safe
base64 without padding, so always 11 characters of `[A-Za-z0-9_-]`. Every string of that shape
is accepted (it only says where the next page starts, within the caller's own rows); anything
else is a 422. A list or item inserted during a walk has a higher id than every row already
seen, so a walk never repeats or misses a row.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from todosync.store import schemas
from todosync.store.repository import MAX_ID

__all__ = [
    "CURSOR_PATTERN",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PageParams",
    "PageQuery",
    "Paging",
    "decode_cursor",
    "encode_cursor",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{11}$"
_ID_BYTES = 8

# The constraint sits on the string itself so that the OpenAPI document shows the pattern.
Cursor = Annotated[str, StringConstraints(pattern=CURSOR_PATTERN)]


@dataclass(frozen=True, slots=True)
class PageParams:
    """Where a page starts (after this id; 0 for the first page) and how long it is."""

    after_id: int
    limit: int


def encode_cursor(last_id: int) -> str:
    raw = last_id.to_bytes(_ID_BYTES, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> int:
    """The id a cursor of `CURSOR_PATTERN`'s shape stands for, at most `MAX_ID`."""
    raw = base64.urlsafe_b64decode(cursor + "=")
    # Ids above the BIGINT range cannot exist; clamping keeps them out of the database driver.
    return min(int.from_bytes(raw, "big"), MAX_ID)


class PageQuery(BaseModel):
    """The query string of a collection; unknown parameters (a typo like `limt`) are a 422."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}."
    )
    cursor: Cursor | None = Field(
        default=None,
        description="The `next_cursor` of the previous page; omit it for the first page.",
        json_schema_extra=schemas.omittable,
    )


# async: FastAPI would run a plain `def` dependency in a worker thread, a costly hand-off.
async def _page_params(query: Annotated[PageQuery, Query()]) -> PageParams:
    after_id = 0 if query.cursor is None else decode_cursor(query.cursor)
    return PageParams(after_id=after_id, limit=query.limit)


Paging = Annotated[PageParams, Depends(_page_params)]
