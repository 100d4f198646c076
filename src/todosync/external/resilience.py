"""Retries for the external client: which failures are retried, how long to wait, and the
per-run budget that stops a dying API from stalling a run.

stamina runs the loop (`stamina.retry_context`); `RetryControl` is its `on=` hook and decides
each failure as a value:

- only `TransientError` (and its `Unreachable`) is retried. The client raises that class for
  network errors, timeouts, 5xx and 429 of idempotent calls, and for a POST only when the
  request cannot have been applied (connect phase, 429); every other POST failure is an
  `AmbiguousWrite`, which is not a `TransientError`.
- the wait is the server's `Retry-After` (delta-seconds or HTTP-date), capped, or else
  exponential backoff with full jitter: uniform(0, min(wait_max, initial * base ** (n - 1))).
- each wait is charged to the run's `RetryBudget`; a wait that does not fit ends the retries
  at once (and so does every later failure of the run), with `budget_exhausted` set.
- a half-open probe is never retried, and no call retries into a circuit that other calls
  have opened meanwhile.
- the first retry of a run is logged, as one warning naming the host and the failure
  (`todosync.logging` keeps stamina's own per-retry records, which name no host, out).

The hook returns its wait as a number, so stamina sleeps exactly that (nothing at all under
`stamina.set_testing`), and stamina's own retry log sees no call arguments: `retry_context`
is given none, so no secret can reach it.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import stamina

from todosync.external.errors import ExternalError, TransientError

if TYPE_CHECKING:
    from todosync.config import Settings

__all__ = [
    "RetryBudget",
    "RetryControl",
    "RetryNote",
    "RetryPolicy",
    "parse_retry_after",
    "retrying",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How one call is retried, and how much waiting a whole run may spend."""

    max_attempts: int = 5
    """Attempts of one call, the first included."""
    wait_initial_s: float = 0.2
    wait_max_s: float = 10.0
    wait_exp_base: float = 2.0
    retry_after_cap_s: float = 30.0
    """The longest `Retry-After` that is honoured as is; longer ones are cut to this."""
    budget_s: float = 60.0
    """Total waiting between retries that one run may spend (see `RetryBudget`)."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.external_max_attempts,
            retry_after_cap_s=settings.external_retry_after_cap_seconds,
            budget_s=settings.external_retry_budget_seconds,
        )

    def backoff_s(self, retry_num: int) -> float:
        """Full-jitter wait before retry number `retry_num` (1 for the first retry)."""
        try:
            ceiling = self.wait_initial_s * self.wait_exp_base ** (retry_num - 1)
        except OverflowError:
            ceiling = self.wait_max_s
        return self.rng.uniform(0.0, min(self.wait_max_s, ceiling))


class RetryBudget:
    """The waiting that one run may still spend on retries; spent, it stays spent. It also
    counts the run's retries (the first one is logged)."""

    def __init__(self, *, total_s: float) -> None:
        self.total_s = total_s
        self.spent_s = 0.0
        self.exhausted = False
        self.retries = 0

    def spend(self, wait_s: float) -> bool:
        """Takes `wait_s` from the budget; False (and exhausted from now on) if it does not fit."""
        if self.exhausted or self.spent_s + wait_s > self.total_s:
            self.exhausted = True
            return False
        self.spent_s += wait_s
        return True

    def __repr__(self) -> str:
        return f"RetryBudget(spent_s={self.spent_s:.3f}, total_s={self.total_s})"


@dataclass(frozen=True, kw_only=True)
class RetryNote:
    """One scheduled retry, for metrics and tests: the wait is the planned one."""

    method: str
    path: str
    retry_num: int
    wait_s: float
    cause: str
    """The failure's class name, e.g. `TransientError`."""
    status: int | None
    from_retry_after: bool


class RetryControl:
    """stamina's `on=` hook for one call: retry or not, and after how many seconds."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        budget: RetryBudget,
        method: str,
        path: str,
        host: str = "?",
        may_retry: Callable[[], bool] = lambda: True,
        on_retry: Callable[[RetryNote], None] | None = None,
    ) -> None:
        self.policy = policy
        self.budget = budget
        self.attempts = 0
        self._method = method
        self._path = path
        self._host = host
        self._may_retry = may_retry
        self._on_retry = on_retry

    def __call__(self, exc: Exception) -> bool | float:
        self.attempts += 1
        if not isinstance(exc, TransientError):
            return False
        # Checked here, not left to stamina, so that a wait never taken is not charged.
        if self.attempts >= self.policy.max_attempts or not self._may_retry():
            return False
        from_header = exc.retry_after_s is not None
        wait_s = self._wait_s(exc)
        if not self.budget.spend(wait_s):
            exc.budget_exhausted = True
            return False
        if self.budget.retries == 0:
            log.warning(
                "external API at %s failing (%s on %s %s); retrying, within %g s for this run",
                self._host,
                _failure(exc),
                self._method,
                self._path,
                self.budget.total_s,
            )
        self.budget.retries += 1
        if self._on_retry is not None:
            self._on_retry(self._note(exc, wait_s=wait_s, from_header=from_header))
        return wait_s

    def _wait_s(self, exc: TransientError) -> float:
        if exc.retry_after_s is not None:
            return min(exc.retry_after_s, self.policy.retry_after_cap_s)
        return self.policy.backoff_s(self.attempts)

    def _note(self, exc: TransientError, *, wait_s: float, from_header: bool) -> RetryNote:
        return RetryNote(
            method=self._method,
            path=self._path,
            retry_num=self.attempts,
            wait_s=wait_s,
            cause=type(exc).__name__,
            status=exc.status,
            from_retry_after=from_header,
        )


def _failure(exc: TransientError) -> str:
    return f"HTTP {exc.status}" if exc.status is not None else type(exc).__name__


async def retrying(attempt: Callable[[], Awaitable[T]], *, control: RetryControl) -> T:
    """Runs `attempt` under stamina with `control` deciding; the final error says how many
    attempts were made."""
    try:
        async for retry in stamina.retry_context(
            on=control,
            attempts=control.policy.max_attempts,
            timeout=None,  # the run's budget bounds the waiting instead
            wait_jitter=0.0,
        ):
            with retry:
                return await attempt()
    except ExternalError as exc:
        exc.attempts = control.attempts
        raise
    raise AssertionError("stamina ended without a result or an error")


def parse_retry_after(
    value: str | None, *, server_date: datetime | None, now: datetime
) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds, or an HTTP-date measured
    against the response's own `Date` when it has one (so clock skew does not distort it)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no wait at all
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (server_date or now)).total_seconds())
