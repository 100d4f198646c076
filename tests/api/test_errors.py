"""Unexpected errors: a 500 problem with a request id, logged server-side, nothing leaked."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import assert_problem
from todosync.errors import TodosyncError

SECRET = "SELECT secret_column FROM hidden_table"


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with one extra route that fails the way a bug would."""

    async def explode() -> None:
        raise RuntimeError(SECRET)

    app.add_api_route("/api/explode", explode)
    return app


async def test_unexpected_error_is_a_500_problem_with_request_id(
    failing_app: FastAPI, anonymous_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The client gets a bare 500 problem carrying the request id; the log gets the details."""
    with caplog.at_level(logging.ERROR):
        response = await anonymous_client.get("/api/explode")
    body = assert_problem(response, 500)
    assert SECRET not in response.text
    assert "RuntimeError" not in response.text
    records = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert records, "the error is logged with the request id"
    assert records[0].exc_info is not None


async def test_request_id_is_echoed_or_made(anonymous_client: httpx.AsyncClient) -> None:
    """A plain caller-supplied X-Request-ID is kept; an odd or missing one is replaced."""
    kept = await anonymous_client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await anonymous_client.get("/healthz", headers={"X-Request-ID": "bad id\t<>"})
    assert replaced.headers["x-request-id"] != "bad id\t<>"
    assert len((await anonymous_client.get("/healthz")).headers["x-request-id"]) == 32


async def test_problem_carries_the_callers_request_id(anonymous_client: httpx.AsyncClient) -> None:
    """The problem document names the same request id as the header."""
    response = await anonymous_client.get("/api/todolists", headers={"X-Request-ID": "trace-7"})
    assert assert_problem(response, 401)["request_id"] == "trace-7"


async def test_unmapped_domain_error_is_a_bare_500(
    app: FastAPI, anonymous_client: httpx.AsyncClient
) -> None:
    """A todosync error with no HTTP meaning is a 500 whose message stays in the log."""

    async def internal() -> None:
        raise TodosyncError(SECRET)

    app.add_api_route("/api/internal", internal)
    response = await anonymous_client.get("/api/internal")
    assert_problem(response, 500)
    assert SECRET not in response.text
