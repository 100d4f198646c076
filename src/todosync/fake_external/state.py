"""The fake's data set: lists with their items embedded, in creation order.

Entities are kept as the JSON objects the API returns, so a data set loaded through the control
API (odd ids, missing fields, wrong types) comes back verbatim. Only a list that is an object
with a string `id` can be addressed, and only the items of a list whose `items` is an array.
With a `SqliteFile`, every change is written through before the call returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from msgspec import UnsetType

from todosync.fake_external import persist, schemas

__all__ = ["Entity", "Store", "format_timestamp", "new_id"]

Entity = dict[str, Any]


def new_id() -> str:
    """An opaque server-side id: random hex, so that clients cannot rely on a shape or order."""
    return secrets.token_hex(10)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. `2026-11-28T09:15:02.123Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Entry:
    """One stored list: its own fields, and its items by id when it has an item array."""

    __slots__ = ("fields", "items", "seq")

    def __init__(self, *, fields: Any, items: dict[str, Any] | None, seq: int) -> None:
        self.fields = fields  # the list without "items", or the whole raw value if malformed
        self.items = items
        self.seq = seq

    def render(self) -> Any:
        if self.items is None:
            return self.fields
        return {**self.fields, "items": list(self.items.values())}


class Store:
    """The lists and items; every method runs on the server's event loop."""

    def __init__(self, *, file: persist.SqliteFile | None = None) -> None:
        self._file = file
        self._lists: dict[str, _Entry] = {}
        self._seq = 0
        self._anonymous = 0
        if file is not None:
            for key, seq, raw in file.load():
                self._lists[key] = self._entry_from_raw(raw, seq=seq)
                self._seq = max(self._seq, seq)

    def __len__(self) -> int:
        return len(self._lists)

    def render(self, *, start: int = 0, stop: int | None = None) -> list[Any]:
        """The lists (a slice of them, for paging) as the API returns them."""
        return [entry.render() for entry in islice(self._lists.values(), start, stop)]

    def load(self, raw_lists: Iterable[Any]) -> None:
        """Replaces the whole data set with `raw_lists`, kept verbatim."""
        self._lists = {}
        for raw in raw_lists:
            self._seq += 1
            entry = self._entry_from_raw(raw, seq=self._seq)
            self._lists[self._key_for(raw, self._lists)] = entry
        if self._file is not None:
            self._file.replace_all((k, e.seq, e.render()) for k, e in self._lists.items())

    def clear(self) -> None:
        self.load([])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def create_list(self, body: schemas.CreateList, *, now: str) -> Entity:
        """Creates a list with its items; ids and timestamps are the server's."""
        fields = _with_source({"id": new_id()}, body.source_id)
        fields |= {"name": body.name, "created_at": now, "updated_at": now}
        items = {}
        for item_body in body.items:
            item = _new_item(item_body, now=now)
            items[item["id"]] = item
        self._seq += 1
        entry = _Entry(fields=fields, items=items, seq=self._seq)
        self._lists[fields["id"]] = entry
        self._save(fields["id"])
        return entry.render()  # type: ignore[no-any-return]

    def update_list(
        self, list_id: str, body: schemas.UpdateList, *, now: str, bump_empty: bool = False
    ) -> Entity | None:
        """Applies the given fields (`bump_empty`: no field still bumps `updated_at`); None
        when no such list."""
        entry = self._entry(list_id)
        if entry is None:
            return None
        if not isinstance(body.name, UnsetType):
            entry.fields["name"] = body.name
        if not isinstance(body.name, UnsetType) or bump_empty:
            entry.fields["updated_at"] = now
            self._save(list_id)
        return entry.render()  # type: ignore[no-any-return]

    def delete_list(self, list_id: str) -> bool:
        """Deletes a list with its items; False when no such list."""
        if self._entry(list_id) is None:
            return False
        del self._lists[list_id]
        if self._file is not None:
            self._file.delete(key=list_id)
        return True

    def create_item(
        self, list_id: str, body: schemas.CreateItem, *, now: str, bump_list: bool
    ) -> Entity | None:
        """Adds an item to a list; None when no such list (or it has no item array)."""
        entry = self._entry(list_id)
        if entry is None or entry.items is None:
            return None
        item = _new_item(body, now=now)
        entry.items[item["id"]] = item
        self._touch(list_id, entry, now=now, bump_list=bump_list)
        return item

    def update_item(
        self,
        list_id: str,
        item_id: str,
        body: schemas.UpdateItem,
        *,
        now: str,
        bump_list: bool,
        bump_empty: bool = False,
    ) -> Entity | None:
        """Applies the given fields to an item (`bump_empty`: no field still bumps its
        `updated_at`); None when no such list or item."""
        entry, item = self._item(list_id, item_id)
        if entry is None or item is None:
            return None
        changes = {
            name: value
            for name, value in (("description", body.description), ("completed", body.completed))
            if not isinstance(value, UnsetType)
        }
        if changes or bump_empty:
            item |= changes
            item["updated_at"] = now
            self._touch(list_id, entry, now=now, bump_list=bump_list)
        return item

    def delete_item(self, list_id: str, item_id: str, *, now: str, bump_list: bool) -> bool:
        """Deletes an item; False when no such list or item."""
        entry, item = self._item(list_id, item_id)
        if entry is None or entry.items is None or item is None:
            return False
        del entry.items[item_id]
        self._touch(list_id, entry, now=now, bump_list=bump_list)
        return True

    def _entry(self, list_id: str) -> _Entry | None:
        entry = self._lists.get(list_id)
        if entry is None or not isinstance(entry.fields, dict):
            return None
        return entry if entry.fields.get("id") == list_id else None

    def _item(self, list_id: str, item_id: str) -> tuple[_Entry | None, Entity | None]:
        entry = self._entry(list_id)
        if entry is None or entry.items is None:
            return entry, None
        item = entry.items.get(item_id)
        if not isinstance(item, dict) or item.get("id") != item_id:
            return entry, None
        return entry, item

    def _touch(self, list_id: str, entry: _Entry, *, now: str, bump_list: bool) -> None:
        if bump_list:
            entry.fields["updated_at"] = now
        self._save(list_id)

    def _save(self, key: str) -> None:
        if self._file is not None:
            entry = self._lists[key]
            self._file.put(key=key, seq=entry.seq, body=entry.render())

    def _entry_from_raw(self, raw: Any, *, seq: int) -> _Entry:
        if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
            return _Entry(fields=raw, items=None, seq=seq)
        items: dict[str, Any] = {}
        for item in raw["items"]:
            items[self._key_for(item, items)] = item
        fields = {name: value for name, value in raw.items() if name != "items"}
        return _Entry(fields=fields, items=items, seq=seq)

    def _key_for(self, raw: Any, taken: dict[str, Any]) -> str:
        """The entity's id, or a private key when it has none or a duplicate (never addressable:
        lookups check the entity's own `id`)."""
        entity_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(entity_id, str) and entity_id not in taken:
            return entity_id
        self._anonymous += 1
        return f"\x00anonymous-{self._anonymous}"


def _new_item(body: schemas.CreateItem, *, now: str) -> Entity:
    item = _with_source({"id": new_id()}, body.source_id)
    return item | {
        "description": body.description,
        "completed": body.completed,
        "created_at": now,
        "updated_at": now,
    }


def _with_source(entity: Entity, source_id: str | UnsetType) -> Entity:
    # The spec has no null: an entity created without source_id has no such field.
    if not isinstance(source_id, UnsetType):
        entity["source_id"] = source_id
    return entity
