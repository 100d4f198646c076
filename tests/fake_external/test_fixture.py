"""The `fake_external` fixture's handle."""

from __future__ import annotations

import httpx

from tests.fixtures.fake_external import FakeExternal
from todosync.fake_external import faults


def test_handle_writes_are_not_logged(fake_external: FakeExternal) -> None:
    """Set-up writes through the handle appear in the data but not in the request log."""
    created = fake_external.create_list("Groceries", items=["Milk", {"description": "Tea"}])
    item = created["items"][0]
    fake_external.update_item(created["id"], item["id"], completed=True)
    fake_external.add_item(created["id"], "Bread")
    state = fake_external.state()
    assert [i["description"] for i in state[0]["items"]] == ["Milk", "Tea", "Bread"]
    assert state[0]["items"][0]["completed"] is True
    assert fake_external.requests() == []


def test_handle_counts_requests_of_the_code_under_test(fake_external: FakeExternal) -> None:
    """Requests made by a client are logged and counted by method."""
    with httpx.Client(base_url=fake_external.url, headers=fake_external.auth_headers()) as client:
        client.get("/todolists")
        client.post("/todolists", json={"name": "a"})
    assert fake_external.request_count() == 2
    assert fake_external.request_count("post") == 1
    assert fake_external.requests()[0].status == 200


def test_handle_sets_faults_that_reset_clears(fake_external: FakeExternal) -> None:
    """Faults set through the handle hit clients until the handle resets the fake."""
    fake_external.set_faults([faults.FaultRule(kind="error", status=503)])
    with httpx.Client(base_url=fake_external.url, headers=fake_external.auth_headers()) as client:
        assert client.get("/todolists").status_code == 503
        fake_external.reset()
        assert client.get("/todolists").status_code == 200
