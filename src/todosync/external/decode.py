"""Tolerant, strict decoding of the external API's JSON.

Tolerant: every property is optional in the contract, so absent timestamps are None, an absent
`source_id` (or null) is None, absent `items` means no items, ids may be any string, unknown
properties are ignored, and timestamps may have any number of fraction digits, `Z`, an offset,
or no offset at all (read as UTC). A timestamp that is not a string or does not parse is None:
it only orders writes, sync still works without it.

Strict: what sync needs must be there with the right JSON type: a list's `id` (a non-empty
string: no URL can address an empty one) and `name` (a string) and an array (or nothing) as
`items`; an item's `id` (non-empty), `description` (strings) and
`completed` (boolean); a `source_id` that is a string or null, since adoption after a crash
hangs on it. An entity that fails becomes an `InvalidEntity` with the reason, and only that
entity: a bad item in a good list quarantines just the item, a bad list takes its items with
it. A second entity with an id already seen (lists across the whole pull, items within their
list) is invalid too.

Speed: a pull page is decoded in one typed msgspec pass (`list[RemoteList]`). Only when that
fails, or ids repeat, is the page split into raw entities and each checked on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from todosync.external.errors import InvalidResponse
from todosync.external.schemas import InvalidEntity, RemoteItem, RemoteList

__all__ = ["one_item", "one_list", "parse_timestamp", "pull_page"]

_PAGE = msgspec.json.Decoder(list[RemoteList])
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
_ONE_LIST = msgspec.json.Decoder(RemoteList)
_ONE_ITEM = msgspec.json.Decoder(RemoteItem)
_ANY = msgspec.json.Decoder()

_JSON_TYPES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}

Entities = tuple[list[RemoteList], list[InvalidEntity]]


def pull_page(body: bytes, *, seen: set[str]) -> Entities:
    """The valid lists and the invalid entities of one `GET /todolists` body.

    `seen` holds the list ids of earlier pages and receives this page's. Raises
    `InvalidResponse` when the body is not JSON or not an array.
    """
    try:
        lists = _PAGE.decode(body)
    except msgspec.ValidationError:
        return _per_entity(body, seen=seen)
    except msgspec.DecodeError:
        raise InvalidResponse("the body is not JSON") from None
    ids = {tl.id for tl in lists}
    if len(ids) != len(lists) or not ids.isdisjoint(seen) or any(map(_repeats_items, lists)):
        return _per_entity(body, seen=seen)
    seen.update(ids)
    return lists, []


def one_list(body: bytes, *, items_matter: bool = True) -> RemoteList:
    """A single list (the answer to a create or update); `InvalidResponse` if any part is bad,
    or, without `items_matter` (a rename's answer), if the list itself is: its bad items,
    which the pull quarantines anyway, are left out rather than failing the rename."""
    try:
        remote = _ONE_LIST.decode(body)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        raise InvalidResponse("the body is not JSON") from None
    else:
        if not _repeats_items(remote):
            return remote
    checked, invalid = _check_list(_generic(body), seen=set())
    if checked is None or (invalid and items_matter):
        raise InvalidResponse(f"the {invalid[0].kind} in the body is invalid: {invalid[0].reason}")
    return checked


def one_item(body: bytes, *, list_id: str) -> RemoteItem:
    """A single item (the answer to a create or update); `InvalidResponse` if it is bad."""
    try:
        return _ONE_ITEM.decode(body)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        raise InvalidResponse("the body is not JSON") from None
    checked = _check_item(_generic(body), list_id=list_id, seen=set())
    if isinstance(checked, InvalidEntity):
        raise InvalidResponse(f"the item in the body is invalid: {checked.reason}")
    return checked


def parse_timestamp(value: object) -> datetime | None:
    """An RFC 3339 / ISO 8601 string as an aware datetime (naive means UTC); else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _generic(body: bytes) -> Any:
    # A typed decode may stop at the first wrong type, before a syntax error further on.
    try:
        return _ANY.decode(body)
    except msgspec.DecodeError:
        raise InvalidResponse("the body is not JSON") from None


# -- the slow path: one entity at a time --------------------------------------------------------


def _per_entity(body: bytes, *, seen: set[str]) -> Entities:
    try:
        raws = _RAW_ARRAY.decode(body)
    except msgspec.ValidationError:
        raise InvalidResponse("the body is not a JSON array") from None
    except msgspec.DecodeError:
        raise InvalidResponse("the body is not JSON") from None
    lists: list[RemoteList] = []
    invalid: list[InvalidEntity] = []
    for raw in raws:
        remote = _typed_list(raw)
        if remote is not None and remote.id not in seen:
            seen.add(remote.id)
            lists.append(remote)
            continue
        checked, bad = _check_list(_ANY.decode(raw), seen=seen)
        if checked is not None:
            lists.append(checked)
        invalid.extend(bad)
    return lists, invalid


def _typed_list(raw: msgspec.Raw) -> RemoteList | None:
    """The list decoded in one typed pass when it is wholly valid, else None."""
    try:
        remote = _ONE_LIST.decode(raw)
    except msgspec.ValidationError:
        return None
    return None if _repeats_items(remote) else remote


def _repeats_items(remote: RemoteList) -> bool:
    items = remote.items
    return len(items) > 1 and len({item.id for item in items}) != len(items)


def _check_list(value: Any, *, seen: set[str]) -> tuple[RemoteList | None, list[InvalidEntity]]:
    """The list with its valid items, and the invalid entities found in it."""
    problem = _list_problem(value, seen=seen)
    if problem is not None:
        return None, [_invalid("list", value, list_id=None, reason=problem)]
    list_id: str = value["id"]
    seen.add(list_id)
    items: list[RemoteItem] = []
    invalid: list[InvalidEntity] = []
    item_ids: set[str] = set()
    for raw_item in value.get("items", ()):
        checked = _check_item(raw_item, list_id=list_id, seen=item_ids)
        if isinstance(checked, InvalidEntity):
            invalid.append(checked)
        else:
            items.append(checked)
    remote = RemoteList(
        id=list_id,
        source_id=value.get("source_id"),
        name=value["name"],
        created_at=parse_timestamp(value.get("created_at")),
        updated_at=parse_timestamp(value.get("updated_at")),
        items=tuple(items),
    )
    return remote, invalid


def _check_item(value: Any, *, list_id: str, seen: set[str]) -> RemoteItem | InvalidEntity:
    problem = _item_problem(value, seen=seen)
    if problem is not None:
        return _invalid("item", value, list_id=list_id, reason=problem)
    seen.add(value["id"])
    return RemoteItem(
        id=value["id"],
        source_id=value.get("source_id"),
        description=value["description"],
        completed=value["completed"],
        created_at=parse_timestamp(value.get("created_at")),
        updated_at=parse_timestamp(value.get("updated_at")),
    )


def _list_problem(value: Any, *, seen: set[str]) -> str | None:
    if not isinstance(value, dict):
        return f"the list is not an object but {_json_type(value)}"
    problem = _first(
        _required(value, "id", str),
        _non_empty(value, "id"),
        _required(value, "name", str),
        _optional(value, "source_id", str),
        _optional(value, "items", list),
    )
    if problem is None and value["id"] in seen:
        return "duplicate list id: an earlier list has the same id"
    return problem


def _item_problem(value: Any, *, seen: set[str]) -> str | None:
    if not isinstance(value, dict):
        return f"the item is not an object but {_json_type(value)}"
    problem = _first(
        _required(value, "id", str),
        _non_empty(value, "id"),
        _required(value, "description", str),
        _required(value, "completed", bool),
        _optional(value, "source_id", str),
    )
    if problem is None and value["id"] in seen:
        return "duplicate item id: an earlier item of the list has the same id"
    return problem


def _required(value: dict[str, Any], name: str, kind: type) -> str | None:
    if name not in value:
        return f"`{name}` is missing"
    return _typed(value, name, kind)


def _non_empty(value: dict[str, Any], name: str) -> str | None:
    return f"`{name}` is empty" if value.get(name) == "" else None


def _optional(value: dict[str, Any], name: str, kind: type) -> str | None:
    """Absent is fine; null is fine for `source_id` (the only optional field checked besides
    `items`, where the contract has no null)."""
    if name not in value or (value[name] is None and kind is str):
        return None
    return _typed(value, name, kind)


def _typed(value: dict[str, Any], name: str, kind: type) -> str | None:
    found = value[name]
    # bool is an int subclass in Python but not a number in JSON; keep them apart.
    if isinstance(found, kind) and (kind is bool or not isinstance(found, bool)):
        return None
    return f"`{name}` must be {_article(_JSON_TYPES[kind])}, not {_json_type(found)}"


def _first(*problems: str | None) -> str | None:
    return next((problem for problem in problems if problem is not None), None)


def _invalid(
    kind: Literal["list", "item"], value: Any, *, list_id: str | None, reason: str
) -> InvalidEntity:
    entity_id = value.get("id") if isinstance(value, dict) else None
    return InvalidEntity(
        kind=kind,
        external_id=_usable_id(entity_id),
        list_external_id=list_id,
        reason=reason,
        raw=value,
    )


def _usable_id(value: object) -> str | None:
    """The id as text for the quarantine record: a string as is, a number as its digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _json_type(value: object) -> str:
    return _article(_JSON_TYPES.get(type(value), type(value).__name__))


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"
