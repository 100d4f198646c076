"""The circuit breaker around the external API: purgatory's state machine, plus one probe.

purgatory (asyncio, in-memory here) counts consecutive failures, opens at the threshold and,
once `reset_s` has passed, lets calls through half-open: a success closes it, a failure opens it
again. Two things are added here:

- **one probe**: purgatory lets every call through while half-open; this wrapper admits one and
  rejects the others with `CircuitOpen` until that probe has ended. The probe is one request
  (the retry layer does not retry it).
- **a readable state** for `/readyz`, the status endpoint and metrics: `closed`, `open` or
  `half_open` (an open circuit whose reset time has passed reads as `half_open`: the next call
  probes).

What counts: a call that ends in `TransientError`, `Unreachable` or `AmbiguousWrite` is a
failure. A 4xx (`PermanentError`) or an undecodable 2xx (`InvalidResponse`) is not: the API
answered, so it counts as a success and resets the count. A cancelled call also ends as a
success in purgatory's eyes (its exclusions offer no "neither"): harmless, since cancellation
only happens while a run is being torn down.

purgatory reads `time.time()` itself; tests use a short `reset_s` instead of a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, TypeVar

import purgatory
from purgatory.domain.model import OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker

from todosync.external.errors import CircuitOpen, InvalidResponse, PermanentError

if TYPE_CHECKING:
    from todosync.config import Settings

__all__ = ["CircuitBreaker", "CircuitState"]

log = logging.getLogger(__name__)

T = TypeVar("T")
CircuitState = Literal["closed", "open", "half_open"]

_STATES: dict[str, CircuitState] = {
    "closed": "closed",
    "opened": "open",
    "half-opened": "half_open",
}
# Outcomes that show the API is up: they reset the failure count instead of adding to it.
_NOT_FAILURES: list[type[BaseException]] = [PermanentError, InvalidResponse, asyncio.CancelledError]


class CircuitBreaker:
    """One circuit for one external API, living in the client (one per process)."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_s: float,
        name: str = "external-api",
        on_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.name = name
        self._on_change = on_change
        self._factory = purgatory.AsyncCircuitBreakerFactory(
            default_threshold=failure_threshold,
            default_ttl=reset_s,
            exclude=list(_NOT_FAILURES),
        )
        self._factory.add_listener(self._on_event)
        self._breaker: AsyncCircuitBreaker | None = None
        self._probing = False

    @classmethod
    def from_settings(cls, settings: Settings) -> CircuitBreaker:
        return cls(
            failure_threshold=settings.breaker_failure_threshold,
            reset_s=settings.breaker_reset_seconds,
        )

    @property
    def state(self) -> CircuitState:
        if self._breaker is None:
            return "closed"
        state = _STATES[self._breaker.context.state]
        if state == "open" and self._seconds_to_probe() <= 0:
            return "half_open"
        return state

    @property
    def failure_count(self) -> int:
        """Consecutive failures counted while closed."""
        if self._breaker is None:
            return 0
        return self._breaker.context.failure_count or 0

    async def call(self, fn: Callable[[bool], Awaitable[T]]) -> T:
        """Runs `fn(probe)` if the circuit admits it, recording the outcome; raises
        `CircuitOpen` without calling `fn` when it does not. `probe` is True for the one
        call that tests a half-open circuit."""
        breaker = await self._get()
        probe = self._admit()
        try:
            async with breaker:
                return await fn(probe)
        except OpenedState:  # purgatory's own check, should it ever disagree with ours
            raise self._rejection() from None
        finally:
            if probe:
                self._probing = False

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state!r}, failures={self.failure_count})"

    def _admit(self) -> bool:
        state = self.state
        if state == "open" or (state == "half_open" and self._probing):
            raise self._rejection()
        if state == "half_open":
            self._probing = True
            return True
        return False

    def _rejection(self) -> CircuitOpen:
        if self.state == "half_open":
            return CircuitOpen("the external API's circuit is half-open and its probe is running")
        return CircuitOpen(
            "the external API's circuit is open after repeated failures; "
            f"next probe in {max(0.0, self._seconds_to_probe()):.1f} s"
        )

    def _seconds_to_probe(self) -> float:
        assert self._breaker is not None
        context = self._breaker.context
        return (context.opened_at or 0.0) + context.ttl - time.time()

    async def _get(self) -> AsyncCircuitBreaker:
        if self._breaker is None:
            created = await self._factory.get_breaker(self.name)
            # Two first calls may both get here: the first one's breaker is the one kept.
            self._breaker = self._breaker or created
        return self._breaker

    def _on_event(self, name: str, event_type: str, event: object) -> None:
        if event_type != "state_changed":
            return
        state = _STATES.get(getattr(event, "state", ""), "closed")
        log.log(
            logging.WARNING if state == "open" else logging.INFO, "circuit %s is %s", name, state
        )
        if self._on_change is not None:
            self._on_change(state)
