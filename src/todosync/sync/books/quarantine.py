"""Quarantine and dead letters: what keeps a run from syncing an entity, in one table.

Two causes share `sync_quarantine` (its `raw` column says which, so no schema change was needed):

- **invalid**: a remote entity that failed validation. It is never imported or deleted (the
  planner sees to that); its row is upserted by every run that pulls it (`attempts` counts
  those runs) and removed by the first run that pulls it valid again.
- **failing**: an entity whose action failed for a reason of its own (another 4xx, an
  undecodable answer, an internal error). Each such failure adds an attempt and a growing
  back-off (`next_retry_at`); runs skip the entity until then. After `MAX_ENTITY_ATTEMPTS`
  it is dead-lettered (`dead`): skipped until replayed through the API or the CLI, which
  deletes the row. A success, or a full run that finds nothing left to do for the entity,
  clears it. Failures of the API as a whole (5xx, 429, timeouts, dropped connections,
  ambiguous writes, an open circuit) do not count: the retries, the breaker and the retry
  budget pace those, and the next run simply tries again.

A failing entity is keyed by its local id when it has one (stable across re-creates), else by
its remote ids. The hot path reads the table once per run (`load`) and writes it once
(`Book.save`): dictionaries in between, never a query per entity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.external.schemas import InvalidEntity, RemoteList
from todosync.sync.books.models import SyncQuarantine
from todosync.sync.core import actions as act
from todosync.sync.core.snapshot import LedgerRow

__all__ = ["FAILING", "INVALID", "Book", "Failure", "Waiting", "action_key", "load"]

INVALID = "invalid"
FAILING = "failing"
_TABLE = cast(sa.Table, SyncQuarantine.__table__)
_LOCAL = "local:"  # parent_external_id of rows keyed by local id (never a real list id's form)
_BACKOFF_CAP_S = 6 * 3600.0

Key = tuple[str, str, str]
"""(kind, parent_external_id, external_id) as stored; for local keys ("list", "local:7", "")."""


@dataclass(frozen=True, slots=True)
class Failure:
    """An action that failed in this run; `counted` when the failure is the entity's own."""

    action: act.Action
    reason: str
    counted: bool


@dataclass(slots=True)
class _Row:
    id: int | None
    cause: str
    kind: str
    parent_external_id: str
    external_id: str
    local_id: int | None
    reason: str
    raw: Any
    attempts: int
    next_retry_at: datetime | None
    dead: bool
    dirty: bool = False


def action_key(action: act.Action) -> Key:
    """Which entity an action is about, stable from run to run."""
    local_id = getattr(action, "local_id", None)
    if local_id is not None:
        return (action.kind, f"{_LOCAL}{local_id}", "")
    if isinstance(action, act.CreateLocalList):
        return ("list", "", action.remote.id)
    if isinstance(action, act.CreateLocalItem):
        return ("item", action.list_external_id, action.remote.id)
    if isinstance(action, act.DeleteRemote):
        return (action.kind, action.parent_external_id, action.external_id)
    raise TypeError(f"no entity key for {type(action).__name__}")  # pragma: no cover


def _external_id(action: act.Action) -> str:
    described = act.describe(action).get("external_id")
    return "" if described is None else str(described)


def _invalid_key(entity: InvalidEntity) -> Key:
    parent = (entity.list_external_id or "") if entity.kind == "item" else ""
    if entity.external_id:
        return (entity.kind, parent, entity.external_id)
    # no usable id: the same bad JSON keeps the same row, run after run
    digest = hashlib.sha256(json.dumps(entity.raw, sort_keys=True, default=str).encode())
    return (entity.kind, parent, f"#{digest.hexdigest()[:16]}")


async def load(session: AsyncSession, *, connection_id: int) -> Book:
    """Every quarantine row of the connection, in one query."""
    result = await session.execute(
        sa.select(
            _TABLE.c.id,
            _TABLE.c.kind,
            _TABLE.c.parent_external_id,
            _TABLE.c.external_id,
            _TABLE.c.local_id,
            _TABLE.c.reason,
            _TABLE.c.raw,
            _TABLE.c.attempts,
            _TABLE.c.next_retry_at,
            _TABLE.c.dead,
        ).where(_TABLE.c.connection_id == connection_id)
    )
    rows = {}
    for id_, kind, parent, external, local_id, reason, raw, attempts, retry, dead in result:
        cause = raw.get("cause") if isinstance(raw, dict) else None
        row = _Row(
            id_,
            FAILING if cause == FAILING else INVALID,
            kind,
            parent,
            external,
            local_id,
            reason,
            raw,
            attempts,
            retry,
            bool(dead),
        )
        key = (kind, parent, "") if parent.startswith(_LOCAL) else (kind, parent, external)
        rows[key] = row
    return Book(connection_id=connection_id, rows=rows)


@dataclass(slots=True)
class Waiting:
    """An action the run skips: its entity is backing off or dead-lettered."""

    action: act.Action
    dead: bool
    attempts: int
    next_retry_at: datetime | None
    reason: str


@dataclass(slots=True)
class Book:
    """The connection's quarantine rows in memory, changed by one run and saved at its end."""

    connection_id: int
    rows: dict[Key, _Row]
    deleted: list[int] = field(default_factory=list)

    # -- invalid remote data -----------------------------------------------------------------

    def knows_invalid(self, entity: InvalidEntity) -> bool:
        """Whether the entity was quarantined as invalid before this run noted its pull."""
        row = self.rows.get(_invalid_key(entity))
        return row is not None and row.cause == INVALID

    def note_invalid(
        self,
        invalid: Sequence[InvalidEntity],
        *,
        pulled: Sequence[RemoteList],
        complete: bool,
        ledger: Sequence[LedgerRow],
    ) -> None:
        """Upserts a row per invalid entity; drops those that came back valid."""
        if not invalid and all(row.cause != INVALID for row in self.rows.values()):
            return  # the usual run: nothing invalid now or before, no need to index anything
        local_ids: dict[Key, int] = {
            (r.kind, r.parent_external_id, r.external_id): r.local_id for r in ledger
        }
        seen: set[Key] = set()
        for entity in invalid:
            key = _invalid_key(entity)
            if key in seen:
                continue
            seen.add(key)
            row = self.rows.get(key)
            if row is None or row.cause != INVALID:
                row = self._fresh(key, INVALID, local_ids.get(key))
            row.attempts += 1
            row.reason = entity.reason
            row.raw = {"cause": INVALID, "json": entity.raw}
            row.dirty = True
        valid = _pulled_keys(pulled)
        for key, row in list(self.rows.items()):
            if row.cause == INVALID and key not in seen and (complete or key in valid):
                # valid again (or gone after a complete pull): nothing to keep it for
                self._drop(key)

    def remote_lists(self) -> set[str]:
        """The remote ids of the lists that a quarantine row is about (itself or an item)."""
        return {
            external_id if kind == "list" else parent
            for kind, parent, external_id in self.rows
            if not parent.startswith(_LOCAL) and (external_id if kind == "list" else parent)
        }

    # -- failing actions ---------------------------------------------------------------------

    def split(
        self, actions: Sequence[act.Action], *, now: datetime
    ) -> tuple[list[act.Action], list[Waiting]]:
        """The actions to run now, and those whose entity backs off or is dead-lettered."""
        ready: list[act.Action] = []
        waiting: list[Waiting] = []
        for action in actions:
            row = self.rows.get(action_key(action))
            blocked = row is not None and row.cause == FAILING
            if row is not None and blocked and (row.dead or _later(row.next_retry_at, now)):
                waiting.append(
                    Waiting(action, row.dead, row.attempts, row.next_retry_at, row.reason)
                )
            else:
                ready.append(action)
        return ready, waiting

    def settle(
        self,
        *,
        planned: Iterable[act.Action],
        executed: Iterable[act.Action],
        failures: Sequence[Failure],
        full_scope: bool,
        now: datetime,
        max_attempts: int,
        retry_s: float,
    ) -> None:
        """Records one run's failures, and clears entities that succeeded or need nothing."""
        failed = {action_key(f.action) for f in failures}
        for action in executed:
            key = action_key(action)
            if key not in failed and self._failing(key):
                self._drop(key)  # it worked: its attempts start again from zero
        if full_scope:
            needed = {action_key(a) for a in planned}
            for key in [k for k, r in self.rows.items() if r.cause == FAILING]:
                if key not in needed:
                    self._drop(key)  # nothing left to do for it
        for failure in failures:
            if failure.counted:
                self._count(failure, now=now, max_attempts=max_attempts, retry_s=retry_s)

    def _count(self, failure: Failure, *, now: datetime, max_attempts: int, retry_s: float) -> None:
        key = action_key(failure.action)
        row = self.rows.get(key)
        if row is None or row.cause != FAILING:
            row = self._fresh(key, FAILING, getattr(failure.action, "local_id", None))
        row.attempts += 1
        row.reason = failure.reason
        row.external_id = _external_id(failure.action) if key[1].startswith(_LOCAL) else key[2]
        row.raw = {"cause": FAILING, "action": act.describe(failure.action)}
        row.dead = row.attempts >= max_attempts
        backoff_s = min(_BACKOFF_CAP_S, retry_s * 2 ** (row.attempts - 1))
        row.next_retry_at = None if row.dead else now + timedelta(seconds=backoff_s)
        row.dirty = True

    # -- plumbing ----------------------------------------------------------------------------

    def _failing(self, key: Key) -> bool:
        row = self.rows.get(key)
        return row is not None and row.cause == FAILING

    def _fresh(self, key: Key, cause: str, local_id: int | None) -> _Row:
        old = self.rows.get(key)
        if old is not None and old.id is not None:
            self.deleted.append(old.id)  # the other cause's row for the same key goes
        kind, parent, external = key
        row = _Row(None, cause, kind, parent, external, local_id, "", None, 0, None, False)
        self.rows[key] = row
        return row

    def _drop(self, key: Key) -> None:
        row = self.rows.pop(key)
        if row.id is not None:
            self.deleted.append(row.id)

    @property
    def changed(self) -> bool:
        """Whether `save` has anything to write."""
        return bool(self.deleted) or any(row.dirty for row in self.rows.values())

    async def save(self, session: AsyncSession, *, now: datetime) -> None:
        """Writes what changed: one DELETE, one INSERT and one executemany UPDATE at most."""
        if self.deleted:
            await session.execute(sa.delete(_TABLE).where(_TABLE.c.id.in_(self.deleted)))
        fresh = [self._values(r, now) for r in self.rows.values() if r.dirty and r.id is None]
        changed = [
            {"row_id": r.id, **self._values(r, now)}
            for r in self.rows.values()
            if r.dirty and r.id is not None
        ]
        if fresh:
            for values in fresh:
                values["created_at"] = now
            await session.execute(sa.insert(_TABLE), fresh)
        if changed:
            # the keys named like columns become the SET clause of each row's UPDATE
            statement = sa.update(_TABLE).where(_TABLE.c.id == sa.bindparam("row_id"))
            await session.execute(statement, changed)

    def _values(self, row: _Row, now: datetime) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "kind": row.kind,
            "parent_external_id": row.parent_external_id,
            "external_id": row.external_id,
            "local_id": row.local_id,
            "reason": row.reason,
            "raw": row.raw,
            "attempts": row.attempts,
            "next_retry_at": row.next_retry_at,
            "dead": row.dead,
            "updated_at": now,
        }


def _later(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment > now


def _pulled_keys(pulled: Sequence[RemoteList]) -> set[Key]:
    keys: set[Key] = set()
    for remote in pulled:
        keys.add(("list", "", remote.id))
        keys.update(("item", remote.id, item.id) for item in remote.items)
    return keys
