"""A state file keeps the fake's data across restarts."""

from __future__ import annotations

from pathlib import Path

import httpx

from todosync.fake_external import config, server


def start(path: Path) -> server.RunningServer:
    return server.start_in_thread(config.ServerConfig(port=0, state_path=str(path)))


def test_data_survives_a_restart(tmp_path: Path) -> None:
    """Lists, items and every kind of change are still there after the server restarts."""
    path = tmp_path / "fake.db"
    running = start(path)
    try:
        with httpx.Client(base_url=running.url) as client:
            kept = client.post(
                "/todolists", json={"name": "A", "items": [{"description": "a"}, {}]}
            )
            gone = client.post("/todolists", json={"name": "B"}).json()
            list_id, (first, second) = kept.json()["id"], kept.json()["items"]
            client.patch(f"/todolists/{list_id}", json={"name": "A2"})
            client.patch(f"/todolists/{list_id}/todoitems/{first['id']}", json={"completed": True})
            client.delete(f"/todolists/{list_id}/todoitems/{second['id']}")
            client.delete(f"/todolists/{gone['id']}")
            before = client.get("/todolists").json()
    finally:
        running.stop()
    running = start(path)
    try:
        with httpx.Client(base_url=running.url) as client:
            assert client.get("/todolists").json() == before
    finally:
        running.stop()
    assert before[0]["name"] == "A2"
    assert before[0]["items"][0]["completed"] is True


def test_loaded_state_survives_a_restart_verbatim(tmp_path: Path) -> None:
    """A data set loaded through the control API, odd entities included, survives a restart."""
    path = tmp_path / "fake.db"
    odd = [{"id": 1}, "text", {"id": "x", "items": [{"id": "i"}]}]
    running = start(path)
    try:
        httpx.put(f"{running.url}/__control/state", json=odd).raise_for_status()
    finally:
        running.stop()
    running = start(path)
    try:
        assert httpx.get(f"{running.url}/todolists").json() == odd
    finally:
        running.stop()


def test_seed_sample_fills_only_an_empty_store(tmp_path: Path) -> None:
    """Sample lists are created once; a restart with data keeps the data as it is."""
    path = tmp_path / "fake.db"
    settings = config.ServerConfig(port=0, state_path=str(path), seed_sample=True)
    for _ in range(2):
        running = server.start_in_thread(settings)
        try:
            names = [tl["name"] for tl in httpx.get(f"{running.url}/todolists").json()]
        finally:
            running.stop()
        assert names == ["Groceries", "Weekend", "Work"]
