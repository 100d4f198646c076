"""Every API response, errors included, says `nosniff` and `no-store`; the dashboard's
versioned static files may be cached."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import offline_assets


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/todolists", 200),
        ("POST", "/api/todolists", 422),
        ("GET", "/api/todolists/999999", 404),
        ("GET", "/api/no-such-route", 404),
        ("GET", "/healthz", 200),
        ("GET", "/openapi.json", 200),
    ],
)
async def test_api_responses_are_neither_sniffed_nor_stored(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    """Successes and problem documents alike carry both headers."""
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


async def test_a_401_is_neither_sniffed_nor_stored(anonymous_client: httpx.AsyncClient) -> None:
    """A refused request carries them too."""
    response = await anonymous_client.get("/api/sync/status")
    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


async def test_static_files_may_be_cached(anonymous_client: httpx.AsyncClient) -> None:
    """The dashboard's stylesheet (its URL carries a version) is not marked no-store."""
    response = await anonymous_client.get("/dashboard/static/dashboard.css")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in response.headers.get("cache-control", "")


async def test_docs_work_offline(anonymous_client: httpx.AsyncClient) -> None:
    """`/docs` names no other host (no CDN): its script and stylesheet come from the app."""
    for url in offline_assets(await anonymous_client.get("/docs")):
        assert (await anonymous_client.get(url)).status_code == 200, url
