"""The fake's public API over real HTTP: ids, timestamps, statuses, auth, paging, clock offset."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.fixtures.fake_external import FakeExternal

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def client(fake_external: FakeExternal) -> Iterator[httpx.Client]:
    """A plain httpx client on the fake, carrying its token."""
    with httpx.Client(
        base_url=fake_external.url, headers=fake_external.auth_headers(), timeout=5.0
    ) as client:
        yield client


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_returns_201_with_server_ids_timestamps_and_source_ids(
    client: httpx.Client,
) -> None:
    """POST /todolists creates the list and its items with opaque ids and millisecond stamps."""
    body = {
        "name": "Trip",
        "source_id": "uid-1",
        "items": [{"description": "Tent", "source_id": "uid-2"}],
    }
    response = client.post("/todolists", json=body)
    assert response.status_code == 201
    created = response.json()
    item = created["items"][0]
    assert (created["name"], created["source_id"], item["source_id"]) == ("Trip", "uid-1", "uid-2")
    assert (item["description"], item["completed"]) == ("Tent", False)
    for entity in (created, item):
        assert re.fullmatch(r"[0-9a-f]{20}", entity["id"])
        assert TIMESTAMP.match(entity["created_at"])
        assert TIMESTAMP.match(entity["updated_at"])
    assert client.get("/todolists").json() == [created]


def test_ids_are_not_sequential(client: httpx.Client) -> None:
    """Two lists created in a row get unrelated random ids."""
    first = client.post("/todolists", json={"name": "a"}).json()["id"]
    second = client.post("/todolists", json={"name": "b"}).json()["id"]
    assert first != second
    assert not first.isdigit()


def test_a_list_without_source_id_has_no_such_field(client: httpx.Client) -> None:
    """An entity created without source_id omits the field (the spec has no null)."""
    created = client.post("/todolists", json={"name": "a", "items": [{}]}).json()
    assert "source_id" not in created
    assert "source_id" not in created["items"][0]
    assert created["items"][0]["description"] == ""


def test_patch_list_changes_name_and_bumps_updated_at(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """PATCH /todolists/{id} answers 200 with the renamed list and a later updated_at."""
    created = fake_external.create_list("Old")
    response = client.patch(f"/todolists/{created['id']}", json={"name": "New"})
    assert response.status_code == 200
    assert response.json()["name"] == "New"
    assert response.json()["updated_at"] >= created["updated_at"]
    assert response.json()["created_at"] == created["created_at"]


def test_patch_item_bumps_item_and_list(client: httpx.Client, fake_external: FakeExternal) -> None:
    """PATCH of an item bumps its updated_at and, by default, its list's updated_at."""
    created = fake_external.create_list("L", items=["Milk"])
    fake_external.configure(clock_offset_s=5)  # a visibly later clock
    item = created["items"][0]
    response = client.patch(
        f"/todolists/{created['id']}/todoitems/{item['id']}", json={"completed": True}
    )
    assert response.status_code == 200
    assert response.json()["completed"] is True
    assert response.json()["updated_at"] > item["updated_at"]
    assert fake_external.state()[0]["updated_at"] == response.json()["updated_at"]


def test_patch_item_leaves_list_alone_when_bumping_is_off(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """With bump_list_on_item_change off, an item change keeps the list's updated_at."""
    created = fake_external.create_list("L", items=["Milk"])
    fake_external.configure(bump_list_on_item_change=False, clock_offset_s=5)
    item_id = created["items"][0]["id"]
    client.patch(
        f"/todolists/{created['id']}/todoitems/{item_id}", json={"description": "Oat milk"}
    )
    assert fake_external.state()[0]["updated_at"] == created["updated_at"]


def test_delete_list_deletes_its_items(client: httpx.Client, fake_external: FakeExternal) -> None:
    """DELETE /todolists/{id} answers 204 and takes the items with it."""
    created = fake_external.create_list("L", items=["a", "b"])
    assert client.delete(f"/todolists/{created['id']}").status_code == 204
    item_id = created["items"][0]["id"]
    response = client.patch(f"/todolists/{created['id']}/todoitems/{item_id}", json={})
    assert response.status_code == 404
    assert fake_external.state() == []


def test_delete_item_answers_204_then_404(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """Deleting an item twice answers 204, then 404."""
    created = fake_external.create_list("L", items=["a"])
    path = f"/todolists/{created['id']}/todoitems/{created['items'][0]['id']}"
    assert client.delete(path).status_code == 204
    assert client.delete(path).status_code == 404
    assert fake_external.state()[0]["items"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/todolists/nope"),
        ("DELETE", "/todolists/nope"),
        ("PATCH", "/todolists/nope/todoitems/nope"),
        ("DELETE", "/todolists/nope/todoitems/nope"),
    ],
)
def test_unknown_ids_are_404(client: httpx.Client, method: str, path: str) -> None:
    """Every operation on an unknown id answers 404 with a JSON body."""
    response = client.request(method, path, json={} if method == "PATCH" else None)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


def test_an_item_of_another_list_is_404(client: httpx.Client, fake_external: FakeExternal) -> None:
    """An item addressed under the wrong list is not found."""
    first = fake_external.create_list("A", items=["a"])
    second = fake_external.create_list("B")
    path = f"/todolists/{second['id']}/todoitems/{first['items'][0]['id']}"
    assert client.patch(path, json={"completed": True}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"name": 5}', 422),
        (b'{"name": null}', 422),
        (b"[]", 422),
        (b'{"items": [{"completed": "yes"}]}', 422),
        (b"{not json", 400),
    ],
)
def test_invalid_bodies_are_refused(client: httpx.Client, body: bytes, status: int) -> None:
    """A body that is not JSON is a 400; JSON of the wrong shape or types is a 422."""
    response = client.post("/todolists", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert client.get("/todolists").json() == []


def test_without_validation_nulls_and_wrong_types_are_stored_as_sent(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """`validation` off is a server that checks nothing: nulls and wrong types are kept and
    returned as sent, on create and on update; only a body that is no JSON object fails."""
    fake_external.configure(validation=False)
    body = {"name": 5, "items": [{"description": None, "completed": None}, {"completed": "yes"}]}
    created = client.post("/todolists", json=body)
    assert created.status_code == 201
    items = created.json()["items"]
    assert [(i["description"], i["completed"]) for i in items] == [(None, None), ("", "yes")]
    renamed = client.patch(f"/todolists/{created.json()['id']}", json={"name": None})
    assert renamed.json()["name"] is None
    assert client.get("/todolists").json()[0]["name"] is None
    refused = client.post("/todolists", content=b"[]", headers={"content-type": "application/json"})
    assert refused.status_code == 422


def test_an_empty_patch_bumps_updated_at_only_when_configured(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """By default a PATCH that changes nothing leaves `updated_at`; with `empty_patch_bumps`
    it moves, for the list and for an item."""
    created = fake_external.create_list("L", items=["Milk"])
    item_path = f"/todolists/{created['id']}/todoitems/{created['items'][0]['id']}"
    fake_external.configure(clock_offset_s=5)
    assert client.patch(f"/todolists/{created['id']}", json={}).json() == created
    fake_external.configure(empty_patch_bumps=True)
    assert (
        client.patch(f"/todolists/{created['id']}", json={}).json()["updated_at"]
        > (created["updated_at"])
    )
    item = client.patch(item_path, json={}).json()
    assert item["updated_at"] > created["items"][0]["updated_at"]
    assert (item["description"], item["completed"]) == ("Milk", False)


def test_every_response_has_a_date_header(client: httpx.Client) -> None:
    """Responses, errors included, carry a Date header close to now."""
    for response in (client.get("/todolists"), client.patch("/todolists/x", json={})):
        sent = email.utils.parsedate_to_datetime(response.headers["date"])
        assert abs((sent - datetime.now(UTC)).total_seconds()) < 5


def test_clock_offset_moves_date_and_timestamps(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A clock offset shifts the Date header and created_at/updated_at alike."""
    fake_external.configure(clock_offset_s=-3600)
    response = client.post("/todolists", json={"name": "late"})
    expected = datetime.now(UTC) - timedelta(hours=1)
    sent = email.utils.parsedate_to_datetime(response.headers["date"])
    assert abs((sent - expected).total_seconds()) < 5
    assert abs((parse_ts(response.json()["created_at"]) - expected).total_seconds()) < 5


def test_token_is_required_when_configured(fake_external: FakeExternal) -> None:
    """Without the right bearer token every public operation answers 401."""
    with httpx.Client(base_url=fake_external.url) as anonymous:
        assert anonymous.get("/todolists").status_code == 401
        wrong = {"Authorization": "Bearer wrong"}
        response = anonymous.post("/todolists", json={"name": "x"}, headers=wrong)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        fake_external.configure(token=None)
        assert anonymous.get("/todolists").status_code == 200
    assert fake_external.state() == []


def test_paging_follows_link_headers(client: httpx.Client, fake_external: FakeExternal) -> None:
    """With a page size, GET /todolists pages with Link rel=next until the last page."""
    names = [f"list {n}" for n in range(5)]
    for name in names:
        fake_external.create_list(name)
    fake_external.configure(page_size=2)
    seen, url, pages = [], "/todolists", 0
    while url:
        response = client.get(url)
        seen += [tl["name"] for tl in response.json()]
        url = response.links.get("next", {}).get("url", "")
        pages += 1
    assert (seen, pages) == (names, 3)
    assert client.get("/todolists?page=0").status_code == 400


def test_item_create_extension_is_off_by_default(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """POST /todolists/{id}/todoitems is a 404 unless the extension is switched on, then a 201."""
    created = fake_external.create_list("L")
    path = f"/todolists/{created['id']}/todoitems"
    assert client.post(path, json={"description": "x"}).status_code == 404
    fake_external.configure(item_create=True)
    response = client.post(path, json={"description": "x", "source_id": "uid-9"})
    assert response.status_code == 201
    assert response.json()["source_id"] == "uid-9"
    assert fake_external.state()[0]["items"] == [response.json()]
    assert client.post("/todolists/nope/todoitems", json={}).status_code == 404


def test_malformed_state_is_returned_verbatim(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """Data loaded through the control API comes back from GET /todolists exactly as loaded."""
    odd = [
        {"id": 7, "name": "numeric id"},
        {"name": "no id", "items": "not a list"},
        "not an object",
        {"id": "ok", "name": "fine", "items": [{"id": "i", "completed": "maybe"}, {"x": 1}]},
    ]
    fake_external.load_state(odd)
    assert client.get("/todolists").json() == odd
    response = client.patch("/todolists/ok/todoitems/i", json={"completed": True})
    assert response.json() == {
        "id": "i",
        "completed": True,
        "updated_at": response.json()["updated_at"],
    }
