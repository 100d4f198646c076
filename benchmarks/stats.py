"""Pure helpers of the benchmark: ratios, growth exponents, percentiles and the table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["format_table", "loglog_slope", "percentile", "ratio"]


def ratio(seconds: float, floor_seconds: float) -> float | None:
    """How many times the floor a measurement took; None when the floor is not positive."""
    if floor_seconds <= 0:
        return None
    return seconds / floor_seconds


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The least-squares slope of log(y) over log(x): the growth exponent (1.0 = linear).

    None with fewer than two distinct positive x values; points with a non-positive x or y
    have no logarithm and are left out.
    """
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len({lx for lx, _ in points}) < 2:
        return None
    mean_x = sum(lx for lx, _ in points) / len(points)
    mean_y = sum(ly for _, ly in points) / len(points)
    covariance = sum((lx - mean_x) * (ly - mean_y) for lx, ly in points)
    variance = sum((lx - mean_x) ** 2 for lx, _ in points)
    return covariance / variance


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` (0..1) percentile by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table with right-aligned cells; floats get three significant decimals."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)
