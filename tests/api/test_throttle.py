"""Failed token checks are throttled per client address: after a burst, 429 with `Retry-After`
until the bucket refills; other addresses are never affected."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import assert_problem
from tests.fixtures.api import BASE_URL, TenantToken
from todosync import config
from todosync.app import create_app
from todosync.auth.throttle import FailureThrottle
from todosync.errors import Throttled

BURST = 3
WINDOW_S = 2.0  # one failure back every 2/3 s


@pytest.fixture
def throttled_app(database_url: str, engine: AsyncEngine) -> FastAPI:
    settings = config.load_settings(
        database_url=database_url,
        auth_failure_burst=BURST,
        auth_failure_window_seconds=WINDOW_S,
    )
    return create_app(settings, engine=engine, dispatcher=False)


def _client(app: FastAPI, *, address: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_burst_of_bad_tokens_gets_429_then_recovers(
    throttled_app: FastAPI, tenant: TenantToken, caplog: pytest.LogCaptureFixture
) -> None:
    """After BURST failed checks an address gets 429 with Retry-After, even with a valid token,
    and one warning line without the token; another address's valid token still works; after
    Retry-After seconds the first address is heard again."""
    guess = "tds_" + "g" * 43
    async with (
        _client(throttled_app, address="203.0.113.7", token=guess) as guesser,
        _client(throttled_app, address="203.0.113.7", token=tenant.token) as neighbour,
        _client(throttled_app, address="198.51.100.9", token=tenant.token) as elsewhere,
    ):
        with caplog.at_level(logging.WARNING, logger="todosync.auth.throttle"):
            for _ in range(BURST):
                assert (await guesser.get("/api/todolists")).status_code == 401
            refused = await guesser.get("/api/todolists")
        assert_problem(refused, 429)
        retry_after_s = int(refused.headers["Retry-After"])
        assert 1 <= retry_after_s <= WINDOW_S
        assert (await neighbour.get("/api/todolists")).status_code == 429
        assert (await elsewhere.get("/api/todolists")).status_code == 200
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == ["token checks from 203.0.113.7 throttled after repeated failures"]
        assert not any(guess in r.getMessage() for r in caplog.records)

        await asyncio.sleep(retry_after_s)
        assert (await neighbour.get("/api/todolists")).status_code == 200


async def test_requests_without_a_token_are_not_counted(
    throttled_app: FastAPI, tenant: TenantToken
) -> None:
    """Requests that send no token at all are 401s that cost the address nothing."""
    transport = httpx.ASGITransport(app=throttled_app, client=("203.0.113.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as anonymous:
        for _ in range(BURST * 3):
            assert (await anonymous.get("/api/todolists")).status_code == 401
        headers = {"Authorization": f"Bearer {tenant.token}"}
        assert (await anonymous.get("/api/todolists", headers=headers)).status_code == 200


def test_the_bucket_refills_at_burst_per_window() -> None:
    """The throttle refuses at once after `burst` failures and lets one more through per
    `window / burst` seconds, counting on its clock."""
    now = [100.0]
    throttle = FailureThrottle(burst=4, window_s=8.0, monotonic=lambda: now[0])
    for _ in range(4):
        throttle.check("a")
        throttle.failed("a")
    with pytest.raises(Throttled) as refused:
        throttle.check("a")
    assert refused.value.retry_after_s == 2
    throttle.check("b")
    now[0] += 2.0
    throttle.check("a")  # one failure back
    throttle.failed("a")
    with pytest.raises(Throttled):
        throttle.check("a")


def test_addresses_kept_are_bounded() -> None:
    """A flood of addresses keeps at most `max_addresses` buckets, the oldest dropped first."""
    now = [0.0]
    throttle = FailureThrottle(burst=1, window_s=60.0, max_addresses=3, monotonic=lambda: now[0])
    for address in ("a", "b", "c", "d"):
        throttle.failed(address)
    throttle.check("a")  # forgotten to make room
    for address in ("b", "c", "d"):
        with pytest.raises(Throttled):
            throttle.check(address)
