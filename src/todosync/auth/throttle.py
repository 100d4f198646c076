"""Throttling failed token checks per client address, so that tokens cannot be guessed at speed.

Each address has a bucket of `burst` failures that refills at `burst` per `window_s`. A failed
check (an unknown or revoked bearer token, a refused dashboard sign-in) takes one failure from
its address's bucket; while the bucket is empty, every token check from that address is
refused before it is made (429 with `Retry-After`), valid tokens included: answering a valid
guess differently would tell the guesser that it was right. Other addresses are never
affected. A request without any token is no guess and costs nothing.

The buckets live in the process (each `serve` replica throttles on its own; a guesser spread
over N replicas gets N times the rate, still bounded). Full buckets are forgotten, and at most
`max_addresses` are kept, so a flood of addresses cannot grow memory without bound.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from todosync.errors import Throttled

__all__ = ["FailureThrottle"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Bucket:
    failures_left: float
    at: float


class FailureThrottle:
    """Per-address buckets of allowed failures (see the module docstring)."""

    def __init__(
        self,
        *,
        burst: int,
        window_s: float,
        max_addresses: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.refill_per_s = burst / window_s
        self.max_addresses = max_addresses
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}

    def check(self, address: str) -> None:
        """Raises `errors.Throttled` while `address` has no failure left."""
        bucket = self._refilled(address)
        if bucket is not None and bucket.failures_left < 1:
            wait_s = (1 - bucket.failures_left) / self.refill_per_s
            raise Throttled(retry_after_s=max(1, math.ceil(wait_s)))

    def failed(self, address: str) -> None:
        """Counts one failed check from `address`; logs once when it becomes throttled."""
        bucket = self._refilled(address)
        if bucket is None:
            self._make_room()
            bucket = self._buckets[address] = _Bucket(float(self.burst), self._monotonic())
        bucket.failures_left = max(0.0, bucket.failures_left - 1)
        if bucket.failures_left < 1:
            log.warning("token checks from %s throttled after repeated failures", address)

    def _refilled(self, address: str) -> _Bucket | None:
        bucket = self._buckets.get(address)
        if bucket is None:
            return None
        now = self._monotonic()
        bucket.failures_left += (now - bucket.at) * self.refill_per_s
        bucket.at = now
        if bucket.failures_left >= self.burst:  # full again: nothing to remember
            del self._buckets[address]
            return None
        return bucket

    def _make_room(self) -> None:
        if len(self._buckets) < self.max_addresses:
            return
        for address in list(self._buckets):
            self._refilled(address)
        while len(self._buckets) >= self.max_addresses:  # still full: drop the oldest
            del self._buckets[next(iter(self._buckets))]
