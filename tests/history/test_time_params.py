"""`as_of` and `known_at` are checked: malformed, future and too old times are 422s."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.api.helpers import assert_problem
from todosync.clock import iso_utc, utc_now


@pytest.mark.parametrize("value", ["yesterday", "1700000000", "2026-12-04", "2026-13-01T00:00Z"])
async def test_a_malformed_time_is_a_422(client: httpx.AsyncClient, value: str) -> None:
    """Only ISO 8601 dates with a time are times."""
    created = (await client.post("/api/todolists", json={"name": "A"})).json()

    for path in (f"/api/todolists/{created['id']}", "/api/todolists"):
        for name in ("as_of", "known_at"):
            assert_problem(await client.get(path, params={name: value}), 422)


async def test_a_future_time_is_a_422(client: httpx.AsyncClient) -> None:
    """Nothing is known about the future yet."""
    created = (await client.post("/api/todolists", json={"name": "A"})).json()
    future = iso_utc(utc_now() + timedelta(minutes=5))

    body = assert_problem(
        await client.get(f"/api/todolists/{created['id']}/items", params={"as_of": future}), 422
    )
    assert "future" in body["detail"]


async def test_a_time_before_the_retention_window_is_a_422(client: httpx.AsyncClient) -> None:
    """Older events are folded into baselines, so the answer says so instead of guessing."""
    created = (await client.post("/api/todolists", json={"name": "A"})).json()
    old = iso_utc(utc_now() - timedelta(days=91))

    body = assert_problem(
        await client.get(f"/api/todolists/{created['id']}", params={"known_at": old}), 422
    )
    assert "before the history window" in body["detail"]
