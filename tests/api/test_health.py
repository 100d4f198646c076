"""Health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.pool import NullPool

from tests.api.helpers import assert_problem
from tests.fixtures.api import make_client
from todosync import config
from todosync.app import create_app
from todosync.db import engine as db_engine

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/unreachable"


@pytest.fixture
async def unreachable_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose database does not answer."""
    engine = db_engine.create_engine(UNREACHABLE_DATABASE, poolclass=NullPool)
    app = create_app(config.load_settings(database_url=UNREACHABLE_DATABASE), engine=engine)
    async with make_client(app) as client:
        yield client
    await engine.dispose()


async def test_healthz(anonymous_client: httpx.AsyncClient) -> None:
    """The process answers that it is alive."""
    response = await anonymous_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_with_a_database(anonymous_client: httpx.AsyncClient) -> None:
    """Ready when the database answers."""
    response = await anonymous_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readyz_without_a_database(unreachable_client: httpx.AsyncClient) -> None:
    """Not ready (503 problem) when the database is unreachable; healthz still says alive."""
    body = assert_problem(await unreachable_client.get("/readyz"), 503)
    assert body["checks"] == {"database": "unreachable"}
    assert "127.0.0.1" not in str(body)
    assert (await unreachable_client.get("/healthz")).status_code == 200


async def test_database_outage_during_a_request_is_503(
    unreachable_client: httpx.AsyncClient,
) -> None:
    """An API call while the database is down answers 503 with Retry-After, no internals."""
    response = await unreachable_client.get(
        "/api/todolists", headers={"Authorization": "Bearer tds_x"}
    )
    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert "postgres" not in str(body).lower()


async def test_metrics_is_prometheus_text(anonymous_client: httpx.AsyncClient) -> None:
    """`/metrics` serves the app's metrics in the Prometheus text format."""
    response = await anonymous_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in response.text


async def test_openapi_documents_every_route_and_the_token(
    anonymous_client: httpx.AsyncClient,
) -> None:
    """`/openapi.json` lists every route, the bearer scheme and problem+json errors."""
    document = (await anonymous_client.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/todolists"]) == {"get", "post"}
    assert set(paths["/api/todolists/{list_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/todolists/{list_id}/items"]) == {"get", "post"}
    assert set(paths["/api/todolists/{list_id}/items/{item_id}"]) == {"get", "patch", "delete"}
    assert {"/healthz", "/readyz", "/metrics"} <= set(paths)
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    post = paths["/api/todolists"]["post"]
    assert set(post["responses"]) >= {"201", "401", "413", "415", "422"}
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert "security" not in paths["/healthz"]["get"]
