"""The external API's entities as todosync sees them, and what it sends to create them.

`RemoteList` and `RemoteItem` are also the types of the fast typed decode of a whole pull
(`todosync.external.decode`), so their annotations are the contract's tolerant reading:
unknown properties are ignored, `source_id` may be null or absent, timestamps may be absent
or null (None) and must carry an offset on this fast path (the slow path also reads naive
ones as UTC), `items` absent means no items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "ExternalId",
    "InvalidEntity",
    "NewItem",
    "NewList",
    "PullResult",
    "RemoteItem",
    "RemoteList",
    "Timestamp",
]

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
"""An aware datetime; the typed decode refuses naive ones, so the slow path can read them as UTC."""

ExternalId = Annotated[str, msgspec.Meta(min_length=1)]
"""Any string but the empty one, which no URL path can address."""


# gc=False: these never form reference cycles, and skipping GC tracking makes decoding 100k
# items markedly cheaper.
class RemoteItem(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An item as the external API returns it, with the fields that sync needs checked."""

    id: ExternalId
    source_id: str | None = None
    description: str
    completed: bool
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class RemoteList(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A list as the external API returns it, with its valid items."""

    id: ExternalId
    source_id: str | None = None
    name: str
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    items: tuple[RemoteItem, ...] = ()


class InvalidEntity(msgspec.Struct, frozen=True, kw_only=True):
    """A remote list or item that sync must not import: why, and the JSON as it came."""

    kind: Literal["list", "item"]
    external_id: str | None
    """Its id when it has a usable one (a number is given as text), else None."""
    list_external_id: str | None
    """For an item: the id of the list it came in."""
    reason: str
    """Field names and JSON types only, never the entity's text."""
    raw: object
    """The offending JSON value, for quarantine."""


class NewItem(msgspec.Struct, frozen=True):
    """An item to create remotely; `source_id` is the local item's `uid`."""

    source_id: str
    description: str
    completed: bool


class NewList(msgspec.Struct, frozen=True):
    """A list to create remotely with its items; `source_id` is the local list's `uid`."""

    source_id: str
    name: str
    items: list[NewItem] = msgspec.field(default_factory=list)


@dataclass
class PullResult:
    """Everything one `GET /todolists` (all its pages) brought back."""

    lists: list[RemoteList]
    invalid: list[InvalidEntity]
    complete: bool
    """True only when every page was read; deletion detection needs it."""
    server_date: datetime | None
    """The first page's `Date` header."""
    clock_skew_s: float
    """Remote clock minus local clock, from the first page's `Date` (0.0 without one)."""
    pages: int
    body_digest: str = ""
    """SHA-256 of the pages' bodies as received, in order: equal digests mean byte-for-byte
    the same pull (`sync.settle` uses it to pass over a pull it has seen whole)."""
