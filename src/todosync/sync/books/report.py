"""What a run did: counts per side and action, errors, log entries, and the run's summary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from todosync.clock import Clock
from todosync.history.record import EventRow
from todosync.sync.books.run_status import RunStatus
from todosync.sync.core import actions as act

__all__ = ["RunReport", "Tally", "empty_counts", "entity_name"]

_SIDE_ACTIONS = ("created", "updated", "deleted")
_VERB_COUNT = {"create": "created", "update": "updated", "delete": "deleted", "recreate": "created"}


def empty_counts() -> dict[str, Any]:
    return {
        "local": dict.fromkeys(_SIDE_ACTIONS, 0),
        "remote": dict.fromkeys(_SIDE_ACTIONS, 0),
        "conflicts": 0,
        "skipped": 0,
        "quarantined": 0,
        "failed": 0,
    }


@dataclass(slots=True)
class Tally:
    """Collects a run's counts, errors and per-entity log entries as actions finish."""

    connection_id: int
    run_id: int
    clock: Clock
    counts: dict[str, Any] = field(default_factory=empty_counts)
    errors: list[dict[str, Any]] = field(default_factory=list)
    pending_log: list[dict[str, Any]] = field(default_factory=list)
    unreachable: bool = False
    # failed actions, for the quarantine's back-off (`quarantine.Book.settle`)
    failures: list[tuple[act.Action, str, bool]] = field(default_factory=list)
    # entities the run could not carry that were not in the quarantine before it started
    # (new invalid remote data, entities backing off): they make the run `partial`
    shortfalls: int = 0
    # history events of the writes staged here (`history.record`), appended with the log
    events: list[EventRow] = field(default_factory=list)

    def count(self, side: str, verb: str, n: int = 1) -> None:
        key = _VERB_COUNT.get(verb)
        if key is not None and side in ("local", "remote"):
            self.counts[side][key] += n

    def count_planned(self, action: act.Action) -> None:
        """Counts a planned action of a dry run, whose plan is never applied: one per action
        and side it changes (a new list counts once, however many items its POST carries)."""
        if isinstance(action, act.Update):
            for side, fields in (("remote", action.push), ("local", action.pull)):
                if fields:
                    self.count(side, "update")
            self.counts["conflicts"] += len(action.conflicts)
        else:
            self.count(action.side, action.verb)

    def log(
        self,
        *,
        kind: str,
        action: str,
        side: str,
        local_id: int | None = None,
        external_id: str | None = None,
        fields: list[str] | None = None,
        outcome: str = "ok",
        reason: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Stages one log entry; `at` is the clock's time unless given (a bulk write stamps
        its entries with one reading)."""
        self.pending_log.append(
            {
                "connection_id": self.connection_id,
                "run_id": self.run_id,
                "at": at or self.clock(),
                "kind": kind,
                "local_id": local_id,
                "external_id": external_id,
                "action": action,
                "side": side,
                "fields": fields or [],
                "outcome": outcome,
                "reason": reason,
            }
        )

    def log_each(
        self,
        entities: Iterable[tuple[int | None, str | None]],
        *,
        kind: str,
        action: str,
        side: str,
        fields: list[str],
        at: datetime,
    ) -> None:
        """Stages one successful entry per (local id, external id), all else alike: a bulk
        write's entries, without a call per entity (100k of them on a first import)."""
        common = {
            "connection_id": self.connection_id,
            "run_id": self.run_id,
            "at": at,
            "kind": kind,
            "action": action,
            "side": side,
            "fields": fields,
            "outcome": "ok",
            "reason": None,
        }
        self.pending_log.extend(
            common | {"local_id": local_id, "external_id": external_id}
            for local_id, external_id in entities
        )

    def failed(self, action: act.Action, reason: str, *, counted: bool = False) -> None:
        """Records a failed action: counted, logged, and listed among the run's errors;
        `counted` when the failure is the entity's own (it then backs off)."""
        self.counts["failed"] += 1
        self.failures.append((action, reason, counted))
        entry = act.describe(action)
        self.errors.append({"entity": _entity_name(entry), "reason": reason})
        self.log(
            kind=action.kind,
            action=action.verb,
            side=entry["side"],
            local_id=entry.get("local_id"),
            external_id=entry.get("external_id"),
            outcome="failed",
            reason=reason,
        )

    def merge(self, other: Tally) -> None:
        """Adds what a committed batch did (staged in `other`) to this tally."""
        for side in ("local", "remote"):
            for key in _SIDE_ACTIONS:
                self.counts[side][key] += other.counts[side][key]
        for key in ("conflicts", "skipped", "quarantined", "failed"):
            self.counts[key] += other.counts[key]
        self.errors.extend(other.errors)
        self.shortfalls += other.shortfalls

    def staged(self) -> Tally:
        """An empty tally for one batch, merged in only if the batch commits."""
        return Tally(self.connection_id, self.run_id, self.clock)

    def take_log(self) -> list[dict[str, Any]]:
        entries, self.pending_log = self.pending_log, []
        return entries

    def take_events(self) -> list[EventRow]:
        events, self.events = self.events, []
        return events


def entity_name(action: act.Action) -> str:
    """How `errors` names an action's entity: `list:7`, or `item:external:<id>`."""
    return _entity_name(act.describe(action))


def _entity_name(entry: dict[str, Any]) -> str:
    if "local_id" in entry:
        return f"{entry['kind']}:{entry['local_id']}"
    return f"{entry['kind']}:external:{entry.get('external_id')}"


def _side(counts: dict[str, Any], side: str) -> str:
    c = counts[side]
    return f"{side} +{c['created']} ~{c['updated']} -{c['deleted']}"


@dataclass(slots=True)
class RunReport:
    """The outcome of one run, as `todosync sync --json` prints it."""

    run_id: int
    status: RunStatus
    dry_run: bool
    counts: dict[str, Any]
    api_calls: int
    clock_skew_s: float | None
    duration_s: float
    errors: list[dict[str, Any]]
    reason: str | None = None
    plan: list[dict[str, Any]] | None = None

    def summary(self) -> str:
        """One line: run id, status, what changed on each side, conflicts, calls, time, and
        why it ended as it did (the reason, else the first error)."""
        c = self.counts
        line = " ".join(
            [
                f"run {self.run_id} {self.status}{' (dry run)' if self.dry_run else ''}:",
                f"{_side(c, 'local')}, {_side(c, 'remote')},",
                f"{c['conflicts']} conflicts, {c['failed']} failed,",
                f"{c['quarantined']} quarantined,",
                f"{self.api_calls} API calls, {self.duration_s:.2f} s",
            ]
        )
        if self.reason:
            return f"{line} ({self.reason})"
        if self.errors:
            first = self.errors[0]
            return f"{line} (first error: {first.get('entity', '?')}: {first.get('reason', '')})"
        return line

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "api_calls": self.api_calls,
            "clock_skew_s": self.clock_skew_s,
            "duration_s": round(self.duration_s, 3),
            "errors": self.errors,
        }
        if self.reason is not None:
            data["reason"] = self.reason
        if self.plan is not None:
            data["plan"] = self.plan
        return data
