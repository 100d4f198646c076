"""The circuit breaker on its own: what counts as a failure, opening, one probe, closing."""

from __future__ import annotations

import asyncio

import pytest

from todosync.external import errors
from todosync.external.breaker import CircuitBreaker, CircuitState

RESET_S = 0.05


async def _fail(probe: bool) -> None:
    raise errors.TransientError("boom")


async def _succeed(probe: bool) -> bool:
    return probe


def _state(breaker: CircuitBreaker) -> str:
    """The state, read through a call so that mypy does not narrow it between asserts."""
    return breaker.state


async def _trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(errors.TransientError):
            await breaker.call(_fail)


async def test_opens_after_threshold_consecutive_failures() -> None:
    """N transient failures in a row open the circuit; then calls are refused without running."""
    changes: list[CircuitState] = []
    breaker = CircuitBreaker(failure_threshold=3, reset_s=30.0, on_change=changes.append)
    ran: list[bool] = []

    async def count(probe: bool) -> None:
        ran.append(probe)

    await _trip(breaker)
    assert breaker.state == "open"
    with pytest.raises(errors.CircuitOpen, match="next probe in"):
        await breaker.call(count)
    assert ran == []
    assert changes == ["open"]


async def test_success_resets_the_count() -> None:
    """Failures must be consecutive: a success in between starts the count again."""
    breaker = CircuitBreaker(failure_threshold=2, reset_s=30.0)
    with pytest.raises(errors.TransientError):
        await breaker.call(_fail)
    await breaker.call(_succeed)
    with pytest.raises(errors.TransientError):
        await breaker.call(_fail)
    assert breaker.state == "closed"
    assert breaker.failure_count == 1


@pytest.mark.parametrize(
    "exc",
    [
        errors.PermanentError("x", status=400),
        errors.NotFound("x", status=404),
        errors.AuthenticationError("x", status=401),
        errors.InvalidResponse("x"),
    ],
)
async def test_answers_of_a_live_api_do_not_count(exc: errors.ExternalError) -> None:
    """4xx and undecodable bodies come from an API that is up: they never open the circuit."""
    breaker = CircuitBreaker(failure_threshold=2, reset_s=30.0)

    async def refuse(probe: bool) -> None:
        raise exc

    for _ in range(5):
        with pytest.raises(type(exc)):
            await breaker.call(refuse)
    assert breaker.state == "closed"


async def test_ambiguous_writes_count() -> None:
    """A POST that failed with a 5xx or a timeout is a failure of the API."""
    breaker = CircuitBreaker(failure_threshold=2, reset_s=30.0)

    async def ambiguous(probe: bool) -> None:
        raise errors.AmbiguousWrite("x", status=500)

    for _ in range(2):
        with pytest.raises(errors.AmbiguousWrite):
            await breaker.call(ambiguous)
    assert breaker.state == "open"


async def test_half_opens_after_the_reset_time_and_closes_on_success() -> None:
    """After the reset time one probe goes through; its success closes the circuit."""
    changes: list[CircuitState] = []
    breaker = CircuitBreaker(failure_threshold=2, reset_s=RESET_S, on_change=changes.append)
    await _trip(breaker)
    await asyncio.sleep(RESET_S * 1.5)
    assert breaker.state == "half_open"
    assert await breaker.call(_succeed) is True  # the call was told it is the probe
    assert _state(breaker) == "closed"
    assert await breaker.call(_succeed) is False
    assert changes == ["open", "half_open", "closed"]


async def test_failed_probe_opens_again() -> None:
    """A failing probe re-opens the circuit for another reset period."""
    breaker = CircuitBreaker(failure_threshold=2, reset_s=RESET_S)
    await _trip(breaker)
    await asyncio.sleep(RESET_S * 1.5)
    with pytest.raises(errors.TransientError):
        await breaker.call(_fail)
    assert breaker.state == "open"
    with pytest.raises(errors.CircuitOpen):
        await breaker.call(_succeed)


async def test_only_one_probe_at_a_time() -> None:
    """While the probe runs, other calls are refused instead of joining it."""
    breaker = CircuitBreaker(failure_threshold=1, reset_s=RESET_S)
    await _trip(breaker)
    await asyncio.sleep(RESET_S * 1.5)
    release = asyncio.Event()

    async def slow_probe(probe: bool) -> bool:
        await release.wait()
        return probe

    probe = asyncio.create_task(breaker.call(slow_probe))
    await asyncio.sleep(0)
    with pytest.raises(errors.CircuitOpen, match="probe is running"):
        await breaker.call(_succeed)
    release.set()
    assert await probe is True
    assert breaker.state == "closed"


async def test_fresh_breaker_is_closed() -> None:
    """Before any call the circuit reads as closed with no failures."""
    breaker = CircuitBreaker(failure_threshold=5, reset_s=30.0)
    assert (breaker.state, breaker.failure_count) == ("closed", 0)
    assert "closed" in repr(breaker)
