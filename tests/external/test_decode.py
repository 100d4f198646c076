"""Decoding the external API's JSON: tolerant of what the contract allows, strict on what sync
needs, one entity at a time when something is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from todosync.external import decode
from todosync.external.errors import InvalidResponse
from todosync.external.schemas import InvalidEntity, RemoteList


def _item(item_id: str = "i1", **fields: Any) -> dict[str, Any]:
    return {"id": item_id, "description": "Milk", "completed": False, **fields}


def _list(list_id: str = "l1", *, items: Any = (), **fields: Any) -> dict[str, Any]:
    return {"id": list_id, "name": "Groceries", "items": list(items), **fields}


def _pull(*entities: Any) -> tuple[list[RemoteList], list[InvalidEntity]]:
    return decode.pull_page(msgspec.json.encode(list(entities)), seen=set())


def test_valid_body_decodes_every_field() -> None:
    """A well-formed body yields typed lists and items with every field, and nothing invalid."""
    lists, invalid = _pull(
        _list(
            "l1",
            source_id="uid-1",
            created_at="2026-11-28T09:15:02.123Z",
            updated_at="2026-11-28T09:15:03Z",
            items=[_item("i1", source_id="uid-2", completed=True)],
        )
    )
    assert invalid == []
    [remote] = lists
    assert (remote.id, remote.source_id, remote.name) == ("l1", "uid-1", "Groceries")
    assert remote.created_at == datetime(2026, 11, 28, 9, 15, 2, 123000, tzinfo=UTC)
    [item] = remote.items
    assert (item.id, item.source_id, item.description, item.completed) == (
        "i1",
        "uid-2",
        "Milk",
        True,
    )
    assert item.created_at is None
    assert item.updated_at is None


def test_empty_array_is_no_lists() -> None:
    """An empty array is a valid, empty pull."""
    assert _pull() == ([], [])


@pytest.mark.parametrize("source_id", [{"source_id": None}, {}])
def test_source_id_may_be_null_or_absent(source_id: dict[str, Any]) -> None:
    """A null or missing `source_id` reads as None on lists and items."""
    lists, invalid = _pull(_list(items=[_item(**source_id)], **source_id))
    assert invalid == []
    assert lists[0].source_id is None
    assert lists[0].items[0].source_id is None


def test_absent_items_and_extra_properties() -> None:
    """A list without `items` has none, and unknown properties are ignored."""
    body = {"id": "l1", "name": "x", "color": "red", "meta": {"a": [1, 2]}}
    lists, invalid = _pull(body)
    assert invalid == []
    assert lists[0].items == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T09:15:02Z", datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)),
        ("2026-11-28T09:15:02.5Z", datetime(2026, 11, 28, 9, 15, 2, 500000, tzinfo=UTC)),
        ("2026-11-28T09:15:02.123456789Z", datetime(2026, 11, 28, 9, 15, 2, 123457, tzinfo=UTC)),
        (
            "2026-11-28T10:15:02+01:00",
            datetime(2026, 11, 28, 10, 15, 2, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2026-11-28T09:15:02", datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)),
        ("2026-11-28T09:15:02.1234", datetime(2026, 11, 28, 9, 15, 2, 123400, tzinfo=UTC)),
        ("2026-11-28t09:15:02z", datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)),
    ],
)
def test_timestamps_in_every_allowed_form(text: str, expected: datetime) -> None:
    """Fractions of any length, `Z`, offsets and no offset (UTC) all decode, on both paths."""
    lists, invalid = _pull(_list(updated_at=text, items=[_item(updated_at=text)]))
    assert invalid == []
    assert lists[0].updated_at == expected
    assert lists[0].items[0].updated_at == expected
    assert lists[0].updated_at is not None
    assert lists[0].updated_at.tzinfo is not None


@pytest.mark.parametrize("value", ["yesterday", 1732785302, None, "2026-13-45T99:99:99Z", {}])
def test_unusable_timestamps_are_none(value: object) -> None:
    """A timestamp that is null, not a string or not a date is None; the entity stays valid."""
    lists, invalid = _pull(_list(created_at=value, items=[_item(updated_at=value)]))
    assert invalid == []
    assert lists[0].created_at is None
    assert lists[0].items[0].updated_at is None


@pytest.mark.parametrize(
    "odd_id", ["0", "a b", "ü/ñ?#%", "..", "x" * 500, "00000000-0000-0000-0000-000000000000"]
)
def test_ids_may_be_any_non_empty_string(odd_id: str) -> None:
    """Ids are opaque: digits, spaces, slashes, unicode and long ids all pass."""
    lists, invalid = _pull(_list(odd_id, items=[_item(odd_id)]))
    assert invalid == []
    assert lists[0].id == odd_id
    assert lists[0].items[0].id == odd_id


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": None}, "`name` must be a string, not a null"),
        ({"name": 7}, "`name` must be a string, not a number"),
        ({"id": 5}, "`id` must be a string, not a number"),
        ({"id": ""}, "`id` is empty"),
        ({"source_id": 12}, "`source_id` must be a string, not a number"),
        ({"items": {"i1": {}}}, "`items` must be an array, not an object"),
        ({"items": "none"}, "`items` must be an array, not a string"),
        ({"items": None}, "`items` must be an array, not a null"),
    ],
)
def test_bad_list_is_quarantined_alone(change: dict[str, Any], reason: str) -> None:
    """A list with a missing or wrongly typed field is invalid; the other lists still decode."""
    bad = {**_list("bad", items=[_item()]), **change}
    lists, invalid = _pull(_list("good"), bad, _list("also-good"))
    assert [tl.id for tl in lists] == ["good", "also-good"]
    [entity] = invalid
    assert entity.kind == "list"
    assert entity.reason == reason
    assert entity.raw == bad


def test_list_missing_name_names_the_field() -> None:
    """A list without a name is invalid, with its id and the reason kept for quarantine."""
    bad = {"id": "l9", "items": []}
    lists, invalid = _pull(bad)
    assert lists == []
    assert invalid == [
        InvalidEntity(
            kind="list",
            external_id="l9",
            list_external_id=None,
            reason="`name` is missing",
            raw=bad,
        )
    ]


def test_numeric_id_is_kept_as_text_for_quarantine() -> None:
    """An entity whose id is a number is invalid, but the quarantine record shows the number."""
    _, invalid = _pull(_list(items=[_item(), {"id": 42, "description": "x", "completed": True}]))
    assert [(e.kind, e.external_id, e.list_external_id) for e in invalid] == [("item", "42", "l1")]


@pytest.mark.parametrize("entity", ["a string", 3, None, [1, 2], True])
def test_non_object_list_is_invalid(entity: object) -> None:
    """An array element that is not an object is an invalid list without an id."""
    lists, invalid = _pull(entity, _list("ok"))
    assert [tl.id for tl in lists] == ["ok"]
    assert invalid[0].external_id is None
    assert invalid[0].reason.startswith("the list is not an object")
    assert invalid[0].raw == entity


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"description": "x", "completed": False}, "`id` is missing"),
        (_item(description=None), "`description` must be a string, not a null"),
        (_item(description=["x"]), "`description` must be a string, not an array"),
        ({"id": "i9", "description": "x"}, "`completed` is missing"),
        (_item(completed="true"), "`completed` must be a boolean, not a string"),
        (_item(completed=1), "`completed` must be a boolean, not a number"),
        (_item(source_id=False), "`source_id` must be a string, not a boolean"),
        ("just text", "the item is not an object but a string"),
    ],
)
def test_bad_item_is_quarantined_alone(item: Any, reason: str) -> None:
    """A bad item is invalid on its own: its list and the list's other items stay valid."""
    lists, invalid = _pull(_list("l1", items=[_item("a"), item, _item("b")]))
    assert [i.id for i in lists[0].items] == ["a", "b"]
    [entity] = invalid
    assert (entity.kind, entity.list_external_id, entity.reason) == ("item", "l1", reason)
    assert entity.raw == item


def test_bad_list_takes_its_items_with_it() -> None:
    """The items of an invalid list are not reported one by one: the list stands for them."""
    lists, invalid = _pull({"id": "l1", "items": [_item(), {"broken": True}]})
    assert lists == []
    assert [(e.kind, e.external_id) for e in invalid] == [("list", "l1")]


def test_duplicate_list_ids_make_the_later_ones_invalid() -> None:
    """The first list with an id wins; later ones with the same id are quarantined."""
    first = _list("dup", items=[_item("a")])
    lists, invalid = _pull(first, _list("other"), _list("dup", name="second"), _list("dup"))
    assert [tl.id for tl in lists] == ["dup", "other"]
    assert lists[0].name == "Groceries"
    assert [(e.external_id, e.reason.split(":")[0]) for e in invalid] == [
        ("dup", "duplicate list id"),
        ("dup", "duplicate list id"),
    ]


def test_duplicate_item_ids_within_a_list() -> None:
    """Item ids must be unique within their list; the same id in two lists is fine."""
    lists, invalid = _pull(
        _list("l1", items=[_item("a"), _item("a", description="again"), _item("b")]),
        _list("l2", items=[_item("a")]),
    )
    assert [[i.id for i in tl.items] for tl in lists] == [["a", "b"], ["a"]]
    assert [(e.kind, e.external_id, e.list_external_id) for e in invalid] == [("item", "a", "l1")]


def test_list_ids_repeated_across_pages_are_invalid() -> None:
    """The ids seen on earlier pages count: a list repeated on a later page is quarantined."""
    seen: set[str] = set()
    decode.pull_page(msgspec.json.encode([_list("l1")]), seen=seen)
    lists, invalid = decode.pull_page(msgspec.json.encode([_list("l1"), _list("l2")]), seen=seen)
    assert [tl.id for tl in lists] == ["l2"]
    assert invalid[0].external_id == "l1"
    assert seen == {"l1", "l2"}


def test_many_problems_in_one_body() -> None:
    """Each bad entity is reported once with its own reason, in order."""
    body = [
        _list("l1", items=[_item("ok"), {"id": "no-desc", "completed": True}]),
        {"name": "no id"},
        _list("l3", items=[_item("x", completed=None)]),
        _list("l4", updated_at="2026-11-28T09:15:02"),
    ]
    lists, invalid = _pull(*body)
    assert [tl.id for tl in lists] == ["l1", "l3", "l4"]
    assert [(e.kind, e.external_id, e.reason) for e in invalid] == [
        ("item", "no-desc", "`description` is missing"),
        ("list", None, "`id` is missing"),
        ("item", "x", "`completed` must be a boolean, not a null"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"id": "l1"}', "the body is not a JSON array"),
        (b'"lists"', "the body is not a JSON array"),
        (b"null", "the body is not a JSON array"),
        (b"<html>oops</html>", "the body is not JSON"),
        (b"[{]", "the body is not JSON"),
        (b"", "the body is not JSON"),
    ],
)
def test_body_that_is_not_an_array_fails_the_pull(body: bytes, message: str) -> None:
    """A pull body that is not a JSON array raises `InvalidResponse` instead of reading as empty."""
    with pytest.raises(InvalidResponse, match=message):
        decode.pull_page(body, seen=set())


def test_one_list_decodes_tolerantly() -> None:
    """A single list (a create or update answer) decodes with naive timestamps and no items."""
    body = msgspec.json.encode({"id": "l1", "name": "x", "created_at": "2026-11-28T09:15:02"})
    remote = decode.one_list(body)
    assert remote.created_at == datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)
    assert remote.items == ()


@pytest.mark.parametrize(
    "body",
    [
        {"id": "l1"},
        {"id": "l1", "name": "x", "items": [{"id": "i1"}]},
        {"id": "l1", "name": "x", "items": [_item("a"), _item("a")]},
        [],
    ],
)
def test_one_list_refuses_any_bad_part(body: Any) -> None:
    """A single list with a bad field or a bad item is an `InvalidResponse`."""
    with pytest.raises(InvalidResponse):
        decode.one_list(msgspec.json.encode(body))


def test_a_rename_answer_leaves_out_bad_items_but_not_a_bad_list() -> None:
    """Without `items_matter` (the answer to a rename), bad items are left out, since the
    pull quarantines them; a bad list is still an `InvalidResponse`."""
    body = {"id": "l1", "name": "x", "items": [_item("a"), {"id": "b", "description": None}]}
    remote = decode.one_list(msgspec.json.encode(body), items_matter=False)
    assert (remote.name, [item.id for item in remote.items]) == ("x", ["a"])
    with pytest.raises(InvalidResponse):
        decode.one_list(msgspec.json.encode({"id": "l1", "name": None}), items_matter=False)


@pytest.mark.parametrize("body", [b'{"id": 5, "name": ', b'[{"id": 5}, {', b'{"id": "i", "x'])
def test_wrong_type_before_a_syntax_error_is_still_not_json(body: bytes) -> None:
    """A body that is both wrongly typed and cut off is reported as not JSON, on every path."""
    with pytest.raises(InvalidResponse, match="not JSON"):
        decode.one_list(body)
    with pytest.raises(InvalidResponse, match="not JSON"):
        decode.one_item(body, list_id="l1")
    with pytest.raises(InvalidResponse, match=r"not (a )?JSON"):
        decode.pull_page(body, seen=set())


def test_one_item_decodes_and_refuses() -> None:
    """A single item decodes; one without `completed`, or not JSON, is an `InvalidResponse`."""
    item = decode.one_item(msgspec.json.encode(_item("i1", completed=True)), list_id="l1")
    assert item.completed is True
    with pytest.raises(InvalidResponse, match="`completed` is missing"):
        decode.one_item(b'{"id": "i1", "description": "x"}', list_id="l1")
    with pytest.raises(InvalidResponse, match="not JSON"):
        decode.one_item(b"oops", list_id="l1")


def test_parse_timestamp_reads_naive_as_utc() -> None:
    """`parse_timestamp` gives aware datetimes: naive input is UTC, garbage is None."""
    assert decode.parse_timestamp("2026-11-28T09:15:02") == datetime(
        2026, 11, 28, 9, 15, 2, tzinfo=UTC
    )
    assert decode.parse_timestamp("2026-11-28") == datetime(2026, 11, 28, tzinfo=UTC)
    assert decode.parse_timestamp("") is None
    assert decode.parse_timestamp(None) is None
