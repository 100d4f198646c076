"""The control API: request log, faults, settings, data set and reset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.fake_external import FAKE_TOKEN, FakeExternal
from todosync.fake_external.faults import FaultRule


@pytest.fixture
def control(fake_external: FakeExternal) -> Iterator[httpx.Client]:
    """A client on the control API, without any token."""
    with httpx.Client(base_url=f"{fake_external.url}/__control") as client:
        yield client


@pytest.fixture
def client(fake_external: FakeExternal) -> Iterator[httpx.Client]:
    """A client on the public API with the fake's token."""
    with httpx.Client(base_url=fake_external.url, headers=fake_external.auth_headers()) as client:
        yield client


def test_control_requests_are_never_logged(
    control: httpx.Client, fake_external: FakeExternal
) -> None:
    """Calls to the control API leave the request log empty."""
    for path in ("/requests", "/state", "/faults", "/config"):
        assert control.get(path).status_code == 200
    assert fake_external.request_count() == 0


def test_log_records_method_path_status_and_duration(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """Each public request is logged in order with its status, duration and start time."""
    client.get("/todolists", params={"page": "1"})
    client.patch("/todolists/nope", json={})
    first, second = fake_external.requests()
    assert (first.seq, first.method, first.path, first.query, first.status) == (
        1,
        "GET",
        "/todolists",
        "page=1",
        200,
    )
    assert (second.seq, second.method, second.status, second.applied) == (2, "PATCH", 404, False)
    assert first.done
    assert first.duration_ms is not None
    assert first.started_at.endswith("Z")
    assert fake_external.request_count("PATCH", path="/todolists/nope") == 1


def test_clearing_the_log_restarts_the_count(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """DELETE /__control/requests empties the log; counting starts again at 1."""
    client.get("/todolists")
    fake_external.clear_requests()
    assert fake_external.request_count() == 0
    client.get("/todolists")
    assert [r.seq for r in fake_external.requests()] == [1]


def test_untracked_requests_are_neither_logged_nor_faulted(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A public request with X-Fake-Untracked bypasses the log and the faults."""
    fake_external.set_faults([FaultRule(kind="error")])
    response = client.get("/todolists", headers={"X-Fake-Untracked": "1"})
    assert response.status_code == 200
    assert fake_external.request_count() == 0


def test_faults_can_be_read_back_with_their_hits(
    control: httpx.Client, client: httpx.Client
) -> None:
    """GET /__control/faults shows the rules as set and how often each fired."""
    rules = {"seed": 3, "rules": [{"kind": "error", "count": 1, "methods": ["GET"]}]}
    assert control.put("/faults", json=rules).status_code == 200
    client.get("/todolists")
    shown = control.get("/faults").json()
    assert (shown["seed"], shown["rules"][0]["kind"], shown["hits"]) == (3, "error", [1])
    assert control.delete("/faults").status_code == 204
    assert control.get("/faults").json()["rules"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"rules": [{"kind": "explode"}]},
        {"rules": [{"kind": "error", "rate": 2}]},
        {"rules": [{"kind": "error", "bogus": 1}]},
        {"rules": "error"},
    ],
)
def test_invalid_faults_are_refused(control: httpx.Client, body: dict[str, Any]) -> None:
    """PUT /__control/faults with an unknown kind, field or out-of-range value is a 422."""
    assert control.put("/faults", json=body).status_code == 422


@pytest.mark.parametrize(
    "body", [{"page_size": 0}, {"token": 5}, {"clock_offset_s": "soon"}, {"bogus": True}, []]
)
def test_invalid_config_is_refused(control: httpx.Client, body: Any) -> None:
    """PUT /__control/config with a wrong type, range or field is a 422 and changes nothing."""
    before = control.get("/config").json()
    assert control.put("/config", json=body).status_code == 422
    assert control.get("/config").json() == before


def test_config_changes_only_the_given_fields(control: httpx.Client) -> None:
    """PUT /__control/config merges the given fields into the current settings."""
    changed = control.put("/config", json={"page_size": 3}).json()
    assert changed == {
        "token": FAKE_TOKEN,
        "clock_offset_s": 0.0,
        "page_size": 3,
        "item_create": False,
        "bump_list_on_item_change": True,
        "validation": True,
        "empty_patch_bumps": False,
    }


def test_state_round_trips_and_refuses_non_arrays(
    control: httpx.Client, fake_external: FakeExternal
) -> None:
    """PUT then GET /__control/state returns the same array; a non-array is a 422."""
    lists = [{"id": "a", "name": "A", "items": []}]
    assert control.put("/state", json=lists).status_code == 204
    assert control.get("/state").json() == lists
    assert control.put("/state", json={"id": "a"}).status_code == 422
    assert fake_external.get_list("a") == lists[0]


def test_add_item_works_with_the_extension_off(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """The control API adds an item to a list, as a remote user would; unknown lists are 404."""
    created = fake_external.create_list("L")
    item = fake_external.add_item(created["id"], "Milk", source_id="uid-1")
    assert client.get("/todolists").json()[0]["items"] == [item]
    assert item["source_id"] == "uid-1"
    with pytest.raises(httpx.HTTPStatusError):
        fake_external.add_item("nope", "x")


def test_reset_wipes_data_log_faults_and_settings(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """POST /__control/reset empties data and log, drops faults and restores start settings."""
    fake_external.create_list("L")
    client.get("/todolists")
    fake_external.set_faults([FaultRule(kind="error")])
    fake_external.configure(token="other", page_size=1)
    fake_external.reset()
    assert fake_external.state() == []
    assert fake_external.requests() == []
    assert fake_external.settings().page_size is None
    assert fake_external.token == FAKE_TOKEN
    assert client.get("/todolists").status_code == 200


def test_configure_tracks_the_token(fake_external: FakeExternal) -> None:
    """After configure(token=...), the handle's own writes use the new token."""
    fake_external.configure(token="new-token")
    assert fake_external.token == "new-token"
    assert fake_external.create_list("L")["name"] == "L"
