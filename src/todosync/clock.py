"""The one source of the current time, so that tests can control it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "ensure_utc", "iso_utc", "utc_now"]

# What takes a clock takes one of these: `utc_now` in production, a fixed or stepped one in tests.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """A naive datetime is taken as UTC; an aware one is converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a `Z`, as the API writes times (in JSON fields
    such as a conflict's `resolution` too)."""
    return ensure_utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")
