"""Field-level three-way merge with last-write-wins for fields changed on both sides.

Pure: no I/O. The base is the ledger's last-agreed snapshot. Timestamps are compared at
millisecond precision after correcting the remote one for the measured clock skew; on an
exact tie the remote side wins (it is the shared source other clients see).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from todosync.sync.core.fields import Fields

__all__ = ["FieldConflict", "MergeResult", "later_side", "three_way"]

Side = Literal["local", "remote"]


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field changed to different values on both sides, and who won."""

    field: str
    base: str | bool | None
    local: str | bool
    remote: str | bool
    winner: Side
    skew_s: float


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The agreed fields, and what must be written to each side to reach them."""

    merged: Fields
    push: Fields = field(default_factory=dict)  # fields to send to the external API
    pull: Fields = field(default_factory=dict)  # fields to write locally
    conflicts: tuple[FieldConflict, ...] = ()


def _truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def later_side(
    *, local_updated_at: datetime, remote_updated_at: datetime | None, skew_s: float
) -> Side:
    """Which write is later, in local time; a remote write without a timestamp is the older."""
    if remote_updated_at is None:
        return "local"
    remote_in_local_time = remote_updated_at - timedelta(seconds=skew_s)
    if _truncate_ms(local_updated_at) > _truncate_ms(remote_in_local_time):
        return "local"
    return "remote"


def three_way(
    *,
    base: Fields,
    local: Fields,
    remote: Fields,
    local_updated_at: datetime,
    remote_updated_at: datetime | None,
    skew_s: float,
) -> MergeResult:
    """Merges field by field; the result says what to push, what to pull, and the conflicts."""
    merged: Fields = {}
    push: Fields = {}
    pull: Fields = {}
    conflicts: list[FieldConflict] = []
    for name, local_value in local.items():
        remote_value = remote[name]
        base_value = base.get(name)
        if local_value == remote_value:
            # unchanged, or changed the same way on both sides: agreed
            merged[name] = local_value
        elif remote_value == base_value:
            # changed locally only: push
            merged[name] = push[name] = local_value
        elif local_value == base_value:
            # changed remotely only: pull
            merged[name] = pull[name] = remote_value
        else:
            # changed on both sides to different values: the later write wins
            winner = later_side(
                local_updated_at=local_updated_at,
                remote_updated_at=remote_updated_at,
                skew_s=skew_s,
            )
            if winner == "local":
                merged[name] = push[name] = local_value
            else:
                merged[name] = pull[name] = remote_value
            conflicts.append(
                FieldConflict(name, base_value, local_value, remote_value, winner, skew_s)
            )
    return MergeResult(merged=merged, push=push, pull=pull, conflicts=tuple(conflicts))
