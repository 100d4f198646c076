"""Fixtures for the external client's tests: stamina never sleeps, and clients are built with
small limits against the session's fake external API (or any transport) and always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import pytest
import stamina
from pydantic import SecretStr

from tests.fixtures.fake_external import FakeExternal
from todosync.external.breaker import CircuitBreaker
from todosync.external.client import ExternalClient, RequestHook
from todosync.external.resilience import RetryNote, RetryPolicy


@pytest.fixture(autouse=True)
def _stamina_never_sleeps() -> Iterator[None]:
    """stamina skips its waits (the planned waits are still recorded by `RetryNote`s);
    `cap=True` keeps each policy's own attempt limit."""
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@dataclass
class Recorded:
    """What a client's hooks saw."""

    requests: list[tuple[str, int | None, float]] = field(default_factory=list)
    retries: list[RetryNote] = field(default_factory=list)

    def on_request(self, method: str, status: int | None, duration_s: float) -> None:
        self.requests.append((method, status, duration_s))

    @property
    def statuses(self) -> list[int | None]:
        return [status for _, status, _ in self.requests]

    @property
    def waits(self) -> list[float]:
        return [note.wait_s for note in self.retries]


class MakeClient(Protocol):
    def __call__(
        self,
        *,
        url: str | None = ...,
        token: str | None = ...,
        no_token: bool = ...,
        max_attempts: int = ...,
        budget_s: float = ...,
        retry_after_cap_s: float = ...,
        wait_s: float = ...,
        threshold: int = ...,
        reset_s: float = ...,
        read_timeout_s: float = ...,
        transport: httpx.AsyncBaseTransport | None = ...,
        max_pages: int = ...,
        on_request: RequestHook | None = ...,
    ) -> ExternalClient: ...


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
async def make_external(
    fake_external: FakeExternal, recorded: Recorded
) -> AsyncIterator[MakeClient]:
    """Builds external clients on the fake (its token unless `token` or `no_token` is given),
    with tiny waits; closes them after the test."""
    clients: list[ExternalClient] = []

    def make(
        *,
        url: str | None = None,
        token: str | None = None,
        no_token: bool = False,
        max_attempts: int = 3,
        budget_s: float = 60.0,
        retry_after_cap_s: float = 30.0,
        wait_s: float = 0.01,
        threshold: int = 5,
        reset_s: float = 30.0,
        read_timeout_s: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_pages: int = 1000,
        on_request: RequestHook | None = None,
    ) -> ExternalClient:
        token = None if no_token else (token or fake_external.token)
        timeout = httpx.Timeout(read_timeout_s, connect=1.0)
        policy = RetryPolicy(
            max_attempts=max_attempts,
            wait_initial_s=wait_s,
            wait_max_s=wait_s,
            retry_after_cap_s=retry_after_cap_s,
            budget_s=budget_s,
        )
        client = ExternalClient(
            http=httpx.AsyncClient(timeout=timeout, transport=transport),
            base_url=url or fake_external.url,
            token=SecretStr(token) if token is not None else None,
            policy=policy,
            breaker=CircuitBreaker(failure_threshold=threshold, reset_s=reset_s),
            on_request=on_request or recorded.on_request,
            on_retry=recorded.retries.append,
            max_pages=max_pages,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
