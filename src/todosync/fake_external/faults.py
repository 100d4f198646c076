"""Fault rules and the seeded decision of which rule hits a request.

A rule matches a request by method and path glob. Every matching `latency` rule that fires adds
its delay; of the other kinds, the first matching rule that fires decides the outcome. A rule
lets its first `skip` matching requests pass, then fires with probability `rate` and at most
`count` times (`skip=N-1, count=1` targets exactly the N-th matching request). One
`random.Random(seed)` makes a sequence of decisions reproducible for the same sequence of
requests.
"""

from __future__ import annotations

import fnmatch
import random
from typing import Annotated, Literal

import msgspec

__all__ = [
    "APPLIED_KINDS",
    "Decision",
    "FaultConfig",
    "FaultEngine",
    "FaultKind",
    "FaultRule",
]

FaultKind = Literal[
    "latency",  # wait latency_ms, then answer normally
    "error",  # answer `status` (default 500) without applying the request
    "rate_limit",  # answer 429 with Retry-After, without applying
    "timeout",  # hang hang_s seconds (None: until released), then drop the connection; not applied
    "drop",  # close the connection without any response; not applied
    "applied_then_500",  # apply, then answer `status` (default 500) instead of the result
    "applied_then_hang",  # apply, hang like `timeout`, then drop the connection
    "applied_then_drop",  # apply, then close the connection without any response
    "applied_then_pause",  # apply, hold the answer until released (or hang_s), then send it
]

# The kinds that let the request reach the API before the fault: the ambiguous writes.
APPLIED_KINDS = frozenset(
    {"applied_then_500", "applied_then_hang", "applied_then_drop", "applied_then_pause"}
)

Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Status = Annotated[int, msgspec.Meta(ge=400, le=599)]


class FaultRule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One kind of fault, which requests it targets, and how often it fires."""

    kind: FaultKind
    methods: list[str] | None = None
    """HTTP methods it targets (any case); None targets every method."""
    path: str | None = None
    """Glob over the request path, e.g. `/todolists/*/todoitems/*`; None targets every path."""
    rate: Rate = 1.0
    """Probability that a matching request is hit."""
    count: NonNegative | None = None
    """At most this many hits (e.g. 2: the next two matching requests); None: no limit."""
    skip: NonNegative = 0
    """The first `skip` matching requests pass untouched (e.g. to pause the N-th write)."""
    latency_ms: NonNegative = 0
    status: Status = 500
    """Status of `error` and `applied_then_500`."""
    retry_after_s: NonNegative = 1
    retry_after_form: Literal["seconds", "http-date"] = "seconds"
    hang_s: Annotated[float, msgspec.Meta(ge=0.0)] | None = None
    """How long `timeout`, `applied_then_hang` and `applied_then_pause` hold the request;
    None holds it until `POST /__control/release`, a reset, the client leaving or server stop."""

    def matches(self, *, method: str, path: str) -> bool:
        """Whether this rule targets a request, before its rate and count are considered."""
        if self.methods is not None and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)


class FaultConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The whole fault set-up: a seed and the rules in priority order."""

    seed: int | None = None
    rules: list[FaultRule] = msgspec.field(default_factory=list)


class Decision(msgspec.Struct, kw_only=True, frozen=True):
    """What happens to one request."""

    latency_ms: int = 0
    outcome: FaultRule | None = None

    @property
    def label(self) -> str | None:
        """The fault's name for the request log, or None when nothing was injected."""
        if self.outcome is not None:
            return self.outcome.kind
        return "latency" if self.latency_ms else None


class FaultEngine:
    """Decides, request by request, which faults hit; replaced as a whole by the control API."""

    def __init__(self, config: FaultConfig) -> None:
        self.replace(config)

    @property
    def config(self) -> FaultConfig:
        return self._config

    @property
    def hits(self) -> list[int]:
        """How many times each rule has fired since it was set."""
        return list(self._hits)

    def replace(self, config: FaultConfig) -> None:
        """Sets new rules and restarts the random sequence from the seed."""
        self._config = config
        self._rng = random.Random(config.seed)  # noqa: S311 -- fault injection, not security
        self._hits = [0] * len(config.rules)
        self._skipped = [0] * len(config.rules)

    def decide(self, *, method: str, path: str) -> Decision:
        """The faults for one request; counts the hits of the rules that fire."""
        latency_ms = 0
        outcome: FaultRule | None = None
        for index, rule in enumerate(self._config.rules):
            if rule.kind != "latency" and outcome is not None:
                continue
            if not rule.matches(method=method, path=path) or not self._fires(index, rule):
                continue
            if rule.kind == "latency":
                latency_ms += rule.latency_ms
            else:
                outcome = rule
        return Decision(latency_ms=latency_ms, outcome=outcome)

    def _fires(self, index: int, rule: FaultRule) -> bool:
        if self._skipped[index] < rule.skip:
            self._skipped[index] += 1
            return False
        if rule.count is not None and self._hits[index] >= rule.count:
            return False
        # Draw only for partial rates, so adding a certain rule keeps the other rules' sequence.
        if rule.rate < 1.0 and self._rng.random() >= rule.rate:
            return False
        self._hits[index] += 1
        return True
