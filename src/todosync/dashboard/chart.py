"""The overview's chart of recent runs, as geometry for an inline SVG (drawn server-side, so
the page needs no chart library): one column per run, oldest on the left, its duration as a
bar above the axis and its changes as a bar below it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from todosync.clock import ensure_utc

__all__ = ["Bar", "Chart", "RunLike", "build", "changes_of"]

WIDTH = 600
HALF_HEIGHT = 60  # each of the two bar areas
SLOTS = 30  # columns: a few runs keep the width of a column, right-aligned (newest last)
_GAP = 2


class RunLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def counts(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Bar:
    run_id: int
    status: str
    x: float
    width: float
    duration_s: float
    changes: int
    duration_height: float
    changes_height: float


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    max_duration_s: float
    max_changes: int
    width: int = WIDTH
    half_height: int = HALF_HEIGHT


def changes_of(counts: Mapping[str, Any]) -> int:
    """Entities created, updated or deleted on either side."""
    total = 0
    for side in ("local", "remote"):
        per_action = counts.get(side)
        if isinstance(per_action, Mapping):
            total += sum(v for v in per_action.values() if isinstance(v, int))
    return total


def _duration_s(run: RunLike) -> float:
    if run.started_at is None or run.finished_at is None:
        return 0.0
    return max(0.0, (ensure_utc(run.finished_at) - ensure_utc(run.started_at)).total_seconds())


def build(runs_newest_first: Sequence[RunLike]) -> Chart:
    """The chart of finished runs (queued and running ones have no duration yet)."""
    runs = [r for r in reversed(runs_newest_first) if r.finished_at is not None][-SLOTS:]
    durations = [_duration_s(r) for r in runs]
    changes = [changes_of(r.counts) for r in runs]
    max_duration = max(durations, default=0.0)
    max_changes = max(changes, default=0)
    slot = WIDTH / SLOTS
    first = SLOTS - len(runs)
    bars = [
        Bar(
            run_id=run.id,
            status=run.status,
            x=round((first + index) * slot + _GAP / 2, 2),
            width=round(max(slot - _GAP, 1.0), 2),
            duration_s=duration,
            changes=changed,
            duration_height=_scaled(duration, max_duration),
            changes_height=_scaled(changed, max_changes),
        )
        for index, (run, duration, changed) in enumerate(zip(runs, durations, changes, strict=True))
    ]
    return Chart(bars=bars, max_duration_s=max_duration, max_changes=max_changes)


def _scaled(value: float, maximum: float) -> float:
    if maximum <= 0 or value <= 0:
        return 0.0
    # at least one pixel, so that a small but non-zero value stays visible
    return round(max(1.0, value / maximum * HALF_HEIGHT), 2)
