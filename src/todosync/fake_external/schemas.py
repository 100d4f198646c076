"""Request bodies of the public API, as in `external-api.yaml`.

No field is required (the spec marks none), but a field that is present must have its type:
`null` or a wrong type is a 422. Unknown fields are ignored, as the spec allows them.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["CreateItem", "CreateList", "UpdateItem", "UpdateList"]


class CreateItem(msgspec.Struct, kw_only=True):
    source_id: str | UnsetType = UNSET
    description: str = ""
    completed: bool = False


class CreateList(msgspec.Struct, kw_only=True):
    source_id: str | UnsetType = UNSET
    name: str = ""
    items: list[CreateItem] = msgspec.field(default_factory=list)


class UpdateList(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET


class UpdateItem(msgspec.Struct, kw_only=True):
    description: str | UnsetType = UNSET
    completed: bool | UnsetType = UNSET
