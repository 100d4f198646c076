"""The adaptive interval: sync about as often as changes arrive, between a minimum and a maximum.

Pure functions of the observed runs and a given `now`, so tests control the clock.

The change rate is an exponentially decayed count of the entities that recent runs changed (on
either side): a change seen `age` seconds ago weighs `exp(-age / window_s)`, and the weighted
sum divided by `window_s` is changes per second. For a steady stream of one change every P
seconds that estimate settles at 1/P, so the interval `1 / rate` settles at P: each run carries
about one change. A burst shortens the interval at once; as time passes without changes the
weights decay and the interval grows back towards the maximum.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["JITTER", "Observation", "change_rate", "jittered", "next_interval"]

JITTER = 0.1
"""Each wait is the interval times a uniform factor in [1 - JITTER, 1 + JITTER], so that
replicas started together do not hit the external API in step."""

# Changes that a run should carry on average; 1 means "sync as often as things change".
_CHANGES_PER_RUN = 1.0


@dataclass(frozen=True, slots=True)
class Observation:
    """A finished run: when it finished and how many entities it changed on either side."""

    at: datetime
    changes: int


def change_rate(observations: Iterable[Observation], *, now: datetime, window_s: float) -> float:
    """Changes per second, each weighted by `exp(-age / window_s)` (see the module docstring)."""
    weighted = 0.0
    for seen in observations:
        age_s = max(0.0, (now - seen.at).total_seconds())
        weighted += seen.changes * math.exp(-age_s / window_s)
    return weighted / window_s


def next_interval(
    observations: Iterable[Observation],
    *,
    now: datetime,
    base_s: float,
    min_s: float,
    max_s: float,
) -> float:
    """The next interval in seconds, within [min_s, max_s].

    Without any observed run it is `base_s` (the configured interval, clamped): nothing is known
    yet. Runs that changed nothing mean idle: the maximum. Otherwise `1 / rate`.
    """
    low, high = min(min_s, max_s), max(min_s, max_s)
    seen = list(observations)
    if not seen:
        # a fresh start: the configured interval until runs tell us more
        return _clamp(base_s, low, high)
    rate = change_rate(seen, now=now, window_s=high)
    if rate <= 0.0:
        # idle: nothing changed in any observed run
        return high
    return _clamp(_CHANGES_PER_RUN / rate, low, high)


def jittered(interval_s: float, *, rng: random.Random) -> float:
    """The interval spread by ±JITTER."""
    return interval_s * rng.uniform(1.0 - JITTER, 1.0 + JITTER)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
