"""The overview's chart and the dashboard's time formats (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from todosync.dashboard import chart, forms, render
from todosync.errors import ValidationFailed

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class Run:
    id: int
    status: str = "ok"
    started_at: datetime | None = T0
    finished_at: datetime | None = T0 + timedelta(seconds=1)
    counts: dict[str, Any] = field(default_factory=dict)


def _counts(created: int, deleted: int = 0) -> dict[str, Any]:
    return {"local": {"created": created}, "remote": {"deleted": deleted}, "conflicts": 9}


def test_bars_scale_to_the_longest_run_and_the_most_changes() -> None:
    """The longest run and the run with most changes reach the full height; oldest left."""
    newest_first = [
        Run(3, finished_at=T0 + timedelta(seconds=4), counts=_counts(1)),
        Run(2, status="failed", finished_at=T0 + timedelta(seconds=2), counts=_counts(2, 2)),
        Run(1, counts={}),
    ]

    drawn = chart.build(newest_first)

    assert [b.run_id for b in drawn.bars] == [1, 2, 3]
    assert [b.x for b in drawn.bars] == sorted(b.x for b in drawn.bars)
    assert drawn.bars[-1].x + drawn.bars[-1].width <= chart.WIDTH
    assert (drawn.max_duration_s, drawn.max_changes) == (4.0, 4)
    assert [b.duration_height for b in drawn.bars] == [15.0, 30.0, 60.0]
    assert [b.changes_height for b in drawn.bars] == [0.0, 60.0, 15.0]
    assert drawn.bars[1].status == "failed"


def test_unfinished_runs_are_left_out_and_columns_are_capped() -> None:
    """Queued and running runs have no duration yet; only the last `SLOTS` runs show."""
    runs = [Run(i) for i in range(50, 0, -1)] + [Run(99, finished_at=None)]

    drawn = chart.build([runs[-1], *runs[:-1]])

    assert len(drawn.bars) == chart.SLOTS
    assert 99 not in {b.run_id for b in drawn.bars}
    assert drawn.bars[-1].run_id == 50


def test_changes_count_both_sides_and_ignore_the_rest() -> None:
    """Changes are created, updated and deleted entities on either side."""
    assert chart.changes_of(_counts(3, 4)) == 7
    assert chart.changes_of({}) == 0


def test_times_read_well() -> None:
    """Relative times in whole units, durations with sensible precision."""
    assert render.ago(T0 - timedelta(seconds=42), now=T0) == "42 s ago"
    assert render.ago(T0 + timedelta(minutes=7), now=T0) == "in 7 min"
    assert render.ago(T0, now=T0) == "just now"
    assert render.ago(None) == "never"
    assert render.seconds(0.4213) == "0.42 s"
    assert render.seconds(3 * 3600 + 20 * 60) == "3 h 20 min"
    assert render.seconds(50 * 3600) == "2 d 2 h"
    assert render.when(T0) == "2026-11-30 12:00:00 UTC"


def test_an_action_form_reads_like_the_api_request() -> None:
    """Blank fields mean "none"; checkbox and number strings are read as values."""
    action = forms.parse(
        forms.SyncAction, {"delay_minutes": "", "list_id": "", "dry_run": "true", "x": "y"}
    )

    assert (action.delay_minutes, action.list_id, action.dry_run) == (0, None, True)
    assert forms.parse(forms.SyncAction, {"delay_minutes": "5"}).as_query() == {
        "delay_minutes": "5"
    }


def test_a_bad_action_form_names_the_field() -> None:
    """An out-of-range delay is refused with the field's name."""
    with pytest.raises(ValidationFailed, match="delay_minutes"):
        forms.parse(forms.SyncAction, {"delay_minutes": "-1"})
