"""The actions a plan is made of. Each one is applied on its own and logged on its own.

`side` is where the write happens; `verb` is what it does there. Lists are applied before
items, and within each kind local writes before remote ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from todosync.external.schemas import RemoteItem, RemoteList
from todosync.sync.core.fields import Fields, Kind
from todosync.sync.core.merge import FieldConflict

__all__ = [
    "Action",
    "Adopt",
    "CreateLocalItem",
    "CreateLocalList",
    "CreateRemoteItem",
    "CreateRemoteList",
    "DeleteLocal",
    "DeleteRemote",
    "Forget",
    "Hold",
    "RecreateRemoteList",
    "Update",
    "describe",
]

Side = Literal["local", "remote", "ledger", "both"]


@dataclass(frozen=True, slots=True)
class CreateLocalList:
    """A list (with its items) that exists only remotely: create it here."""

    remote: RemoteList
    replaces_ledger_ids: tuple[int, ...] = ()
    kind: Kind = "list"
    side: Side = "local"
    verb: str = "create"


@dataclass(frozen=True, slots=True)
class CreateLocalItem:
    """An item that exists only remotely, in a list mapped here: create it here."""

    remote: RemoteItem
    list_local_id: int
    list_external_id: str
    replaces_ledger_ids: tuple[int, ...] = ()
    kind: Kind = "item"
    side: Side = "local"
    verb: str = "create"


@dataclass(frozen=True, slots=True)
class CreateRemoteList:
    """A local list that exists only here: one POST carries it with all its live items."""

    local_id: int
    replaces_ledger_ids: tuple[int, ...] = ()
    kind: Kind = "list"
    side: Side = "remote"
    verb: str = "create"


@dataclass(frozen=True, slots=True)
class CreateRemoteItem:
    """A local item in a list that exists remotely, sent through the item-create extension."""

    local_id: int
    list_local_id: int
    list_external_id: str
    replaces_ledger_ids: tuple[int, ...] = ()
    kind: Kind = "item"
    side: Side = "remote"
    verb: str = "create"


@dataclass(frozen=True, slots=True)
class RecreateRemoteList:
    """New local items in a list that exists remotely, without an item-create endpoint:
    create the list anew with all its items, remap the ledger, delete the old remote list."""

    local_id: int
    ledger_id: int
    old_external_id: str
    new_item_ids: tuple[int, ...]
    # set when an earlier run's POST landed but was not recorded: only remap and clean up
    landed: RemoteList | None = None
    kind: Kind = "list"
    side: Side = "remote"
    verb: str = "recreate"


@dataclass(frozen=True, slots=True)
class Adopt:
    """A remote entity carrying a local uid as `source_id` (a create whose answer was lost):
    map it instead of creating it again. Where the fields differ there is no agreed base, so
    each goes to the later write: `push` the local value, or `pull` the remote one when it is
    strictly later (someone edited the copy after it landed)."""

    kind: Kind
    local_id: int
    local_uid: str
    local_version: int
    external_id: str
    parent_external_id: str
    parent_local_id: int | None
    agreed: Fields
    push: Fields
    remote_updated_at: datetime | None
    pull: Fields = field(default_factory=dict)
    # the local fields at `local_version`, for the history (not compared, as in `Update`)
    local: Fields = field(default_factory=dict, compare=False)
    side: Side = "ledger"
    verb: str = "adopt"


@dataclass(frozen=True, slots=True)
class Update:
    """A mapped entity changed on one or both sides: write the merged fields where needed."""

    kind: Kind
    ledger_id: int
    local_id: int
    external_id: str
    parent_external_id: str
    expected_version: int
    merged: Fields
    push: Fields
    pull: Fields
    remote_updated_at: datetime | None
    conflicts: tuple[FieldConflict, ...] = ()
    # the local fields the merge saw (at `expected_version`): the "before" of pulled fields in
    # the history; a record, not part of the decision, so actions compare without it
    local: Fields = field(default_factory=dict, compare=False)
    verb: str = "update"

    @property
    def side(self) -> Side:
        return "remote" if self.push and not self.pull else "local"


@dataclass(frozen=True, slots=True)
class DeleteLocal:
    """Deleted remotely: delete here (a list takes its items), and drop the ledger rows."""

    kind: Kind
    local_id: int
    external_id: str
    ledger_ids: tuple[int, ...]
    expected_version: int | None = None
    side: Side = "local"
    verb: str = "delete"


@dataclass(frozen=True, slots=True)
class DeleteRemote:
    """Deleted here (or a remote duplicate): delete remotely, where 404 counts as done."""

    kind: Kind
    external_id: str
    parent_external_id: str
    local_id: int | None
    ledger_ids: tuple[int, ...]
    reason: str = "deleted"
    side: Side = "remote"
    verb: str = "delete"


@dataclass(frozen=True, slots=True)
class Forget:
    """Gone on both sides: only the ledger rows remain, and go."""

    kind: Kind
    local_id: int
    ledger_ids: tuple[int, ...]
    side: Side = "ledger"
    verb: str = "forget"


@dataclass(frozen=True, slots=True)
class Hold:
    """A change that cannot be sent now (e.g. `hold` strategy for a new item); reported.
    `shortfall`: held because sending it would destroy remote data this service could not
    read; the run counts it as falling short (`partial`) and lists the reason."""

    kind: Kind
    local_id: int
    reason: str
    side: Side = "remote"
    verb: str = "hold"
    shortfall: bool = False


Action = (
    CreateLocalList
    | CreateLocalItem
    | CreateRemoteList
    | CreateRemoteItem
    | RecreateRemoteList
    | Adopt
    | Update
    | DeleteLocal
    | DeleteRemote
    | Forget
    | Hold
)


RECREATE_REASON = (
    "the list has new local items and the external API cannot add an item to an existing "
    "list: it is created anew with all its items, then the old one is deleted"
)


def describe(action: Action) -> dict[str, Any]:
    """A JSON-ready description of an action, for dry runs and logs; no user content."""
    side = action.side
    if isinstance(action, Update) and action.push and action.pull:
        side = "both"
    entry: dict[str, Any] = {"kind": action.kind, "side": side, "action": action.verb}
    local_id = getattr(action, "local_id", None)
    if local_id is not None:
        entry["local_id"] = local_id
    external_id = getattr(action, "external_id", None) or getattr(action, "old_external_id", None)
    if isinstance(action, CreateLocalList | CreateLocalItem):
        external_id = action.remote.id
    if external_id is not None:
        entry["external_id"] = external_id
    if isinstance(action, Update):
        entry["fields"] = sorted({*action.push, *action.pull})
        entry["push"] = sorted(action.push)
        entry["pull"] = sorted(action.pull)
        entry["conflicts"] = [c.field for c in action.conflicts]
    if isinstance(action, Adopt):
        entry["fields"] = sorted({*action.push, *action.pull})
    if isinstance(action, DeleteRemote | Hold):
        entry["reason"] = action.reason
    if isinstance(action, RecreateRemoteList):
        entry["reason"] = RECREATE_REASON
    return entry
