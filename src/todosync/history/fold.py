"""The fold: an entity's state at a point of both time axes, from its events alone. Pure.

An event counts when it was recorded by `known_at` (what the service knew then) and happened
by `as_of` (valid time). Counted events apply in valid-time order (ties by recording order):
`created`, `restored` and `baseline` set every field, `updated` the fields it changed,
`deleted` ends the entity's life until a later `restored`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["EventLike", "State", "fold", "order"]


class EventLike(Protocol):
    """The columns of an event that the fold reads (an `EntityEvent` or a row of them)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def entity_id(self) -> int: ...
    @property
    def list_id(self) -> int | None: ...
    @property
    def operation(self) -> str: ...
    @property
    def before(self) -> Mapping[str, Any] | None: ...
    @property
    def after(self) -> Mapping[str, Any] | None: ...
    @property
    def valid_at(self) -> datetime: ...
    @property
    def recorded_at(self) -> datetime: ...


@dataclass(slots=True)
class State:
    """One entity as its events describe it; `alive` is False once deleted (or not yet made)."""

    kind: str
    entity_id: int
    list_id: int | None
    fields: dict[str, Any] = field(default_factory=dict)
    alive: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def apply(self, event: EventLike) -> None:
        operation = event.operation
        if operation in ("created", "restored"):
            self.fields = dict(event.after or {})
            self.alive = True
            if operation == "created" or self.created_at is None:
                self.created_at = event.valid_at
        elif operation == "baseline":
            # the fold of events older than the retention window (see `history.retention`)
            self.fields = dict(event.after or {})
            self.alive = event.after is not None
            created = (event.before or {}).get("created_at")
            self.created_at = datetime.fromisoformat(created) if created else event.valid_at
        elif operation == "updated":
            self.fields.update(event.after or {})
        elif operation == "deleted":
            self.alive = False
        self.updated_at = event.valid_at


def order(events: Iterable[EventLike]) -> list[EventLike]:
    """Events in the order the fold applies them: valid time, then recording order."""
    return sorted(events, key=lambda e: (e.valid_at, e.id))


def fold(
    events: Iterable[EventLike],
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> dict[tuple[str, int], State]:
    """Every entity the counted events mention, by (kind, id), alive or not; no bound on an
    axis (None) counts every event on it (the current state)."""
    counted = [
        e
        for e in events
        if (known_at is None or e.recorded_at <= known_at)
        and (as_of is None or e.valid_at <= as_of)
    ]
    states: dict[tuple[str, int], State] = {}
    for event in order(counted):
        key = (event.kind, event.entity_id)
        state = states.get(key)
        if state is None:
            state = states[key] = State(event.kind, event.entity_id, event.list_id)
        state.apply(event)
    return states
