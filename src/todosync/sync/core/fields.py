"""The synced fields of each entity kind, their content hash and their stored snapshot.

Change detection compares content, never timestamps: a side has changed an entity when its
fields differ from the ledger's last-agreed snapshot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

__all__ = [
    "FIELDS",
    "Fields",
    "Kind",
    "content_hash",
    "decode_snapshot",
    "encode_snapshot",
    "item_hash",
    "list_digest",
    "list_hash",
]

Kind = Literal["list", "item"]
Fields = dict[str, str | bool]

FIELDS: dict[Kind, tuple[str, ...]] = {"list": ("name",), "item": ("description", "completed")}

_SEPARATOR = "\x1f"  # cannot appear in a JSON-decoded field boundary ambiguously with the flag


def list_hash(name: str) -> str:
    """The content hash of a list (its name)."""
    return hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


def item_hash(description: str, completed: bool) -> str:
    """The content hash of an item; the completed flag goes first so no text can mimic it."""
    text = f"{int(completed)}{_SEPARATOR}{description}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def content_hash(kind: Kind, values: Mapping[str, str | bool]) -> str:
    if kind == "list":
        return list_hash(str(values["name"]))
    return item_hash(str(values["description"]), bool(values["completed"]))


# Keys sorted, as `json.dumps(sort_keys=True)` wrote them before: the text is only ever read
# back through `decode_snapshot`, so older rows (with `json.dumps`'s spaces) read the same.
_SNAPSHOT = msgspec.json.Encoder(order="sorted")


def encode_snapshot(values: Mapping[str, str | bool]) -> str:
    """The stored text of an entity's fields: compact JSON with sorted keys."""
    return _SNAPSHOT.encode(values if isinstance(values, dict) else dict(values)).decode()


def decode_snapshot(text: str) -> Fields:
    decoded = json.loads(text)
    assert isinstance(decoded, dict)
    return decoded


def list_digest(name: str, items: Iterable[tuple[str, str, bool]]) -> str:
    """A digest of a whole list: its name and each item's (external id, description,
    completed), in id order, so the order in which a server lists items does not matter.

    Equal digests mean the list and every one of its items are unchanged; it lets a run
    pass over an unchanged list without looking at its items (see `sync.settle`)."""
    encoded = msgspec.json.encode([name, sorted(items)])
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()
