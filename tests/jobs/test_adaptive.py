"""The adaptive interval as a pure function of observed runs and a controlled clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from todosync.jobs import adaptive
from todosync.jobs.adaptive import Observation

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LIMITS = {"base_s": 60.0, "min_s": 10.0, "max_s": 600.0}


def _steady(*, every_s: float, changes: int, until: datetime, runs: int) -> list[Observation]:
    """`runs` runs, one every `every_s` seconds up to `until`, each with `changes` changes."""
    return [
        Observation(at=until - timedelta(seconds=every_s * k), changes=changes) for k in range(runs)
    ]


def test_without_history_the_configured_interval_applies() -> None:
    """Before any run is observed, the interval is the configured one."""
    assert adaptive.next_interval([], now=T0, **LIMITS) == 60.0


def test_the_configured_interval_is_clamped_to_the_limits() -> None:
    """A configured interval outside [min, max] is brought inside."""
    assert adaptive.next_interval([], now=T0, base_s=5.0, min_s=10.0, max_s=600.0) == 10.0
    assert adaptive.next_interval([], now=T0, base_s=9_999.0, min_s=10.0, max_s=600.0) == 600.0


def test_idle_runs_stretch_the_interval_to_the_maximum() -> None:
    """Runs that changed nothing mean idle: the longest interval."""
    idle = _steady(every_s=60, changes=0, until=T0, runs=10)
    assert adaptive.next_interval(idle, now=T0, **LIMITS) == 600.0


def test_a_steady_change_rate_sets_the_interval_to_its_period() -> None:
    """One change every two minutes, seen for long, gives an interval of about two minutes."""
    steady = _steady(every_s=120, changes=1, until=T0, runs=100)
    assert adaptive.next_interval(steady, now=T0, **LIMITS) == pytest.approx(120, rel=0.1)


def test_a_burst_shortens_the_interval_down_to_the_minimum() -> None:
    """A run that changed many entities brings the next run as close as allowed."""
    burst = [Observation(at=T0, changes=500)]
    assert adaptive.next_interval(burst, now=T0, **LIMITS) == 10.0


def test_the_interval_grows_back_as_time_passes_without_changes() -> None:
    """The same burst, seen from later and later, gives longer and longer intervals."""
    burst = [Observation(at=T0, changes=60)]
    later = [
        adaptive.next_interval(burst, now=T0 + timedelta(minutes=m), **LIMITS)
        for m in (0, 10, 20, 40, 80)
    ]
    assert later == sorted(later)
    assert later[0] == 10.0
    assert later[-1] == 600.0


def test_more_changes_mean_a_shorter_interval() -> None:
    """Between the limits, the interval falls as the observed change count rises."""
    intervals = [
        adaptive.next_interval([Observation(at=T0, changes=n)], now=T0, **LIMITS)
        for n in (2, 4, 8, 16)
    ]
    assert intervals == sorted(intervals, reverse=True)
    assert intervals[0] > intervals[-1]


def test_jitter_stays_within_ten_percent() -> None:
    """Jittered waits vary, and stay within ±10 % of the interval."""
    rng = random.Random(7)
    waits = [adaptive.jittered(100.0, rng=rng) for _ in range(200)]
    assert all(90.0 <= wait <= 110.0 for wait in waits)
    assert len(set(waits)) > 1
