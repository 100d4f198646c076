"""The planner: from the pulled remote snapshot, the changed local rows and the ledger, the
list of actions that makes both sides agree. Pure: no I/O, no clock.

Inputs are deliberately lean (see DESIGN.md, "The no-change path is lean"): `local` holds only
rows whose `version` moved since they were last synced, rows never synced, and tombstones; a
mapped entity absent from `local` is known to equal its ledger snapshot.

Each entity falls in one branch of the decision table below; every branch is commented where
it is decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from todosync.config import DeletePolicy, NewItemStrategy
from todosync.external.schemas import InvalidEntity, RemoteItem, RemoteList
from todosync.sync.core import actions as act
from todosync.sync.core import merge
from todosync.sync.core.fields import Fields, Kind, item_hash, list_hash
from todosync.sync.core.snapshot import LedgerRow, LocalRow

__all__ = ["Plan", "PlanInput", "PlanOptions", "build"]

INTENT_RECREATE = "recreate"
INTENT_DELETE_OLD = "delete_old"
# An unchanged local side never wins a conflict (it has none); this stands in for its time.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    delete_policy: DeletePolicy = DeletePolicy.EDIT_WINS
    new_item_strategy: NewItemStrategy = NewItemStrategy.RECREATE
    item_create: bool = False
    mass_delete_min: int = 10
    mass_delete_percent: float = 50.0
    # the operator's release (`--allow-mass-delete`): delete or re-create a remote list even
    # though it holds items this service could not read, which are then lost
    drop_unreadable: bool = False
    # an external account that was reset (`--restore-remote`): what is missing remotely is
    # pushed again from here, never deleted here
    restore_remote: bool = False


@dataclass(frozen=True, slots=True)
class PlanInput:
    remote_lists: Sequence[RemoteList]
    local: Sequence[LocalRow]
    ledger: Sequence[LedgerRow]
    invalid: Sequence[InvalidEntity] = ()
    complete: bool = True
    skew_s: float = 0.0
    # lists in the whole pull, when `remote_lists` was narrowed to one list's sync
    pulled_lists: int | None = None
    # Remote lists known unchanged on both sides with all their items (`sync.settle`): the
    # ledger rows of their items are not in `ledger`, and the planner does not visit them.
    settled: frozenset[str] = frozenset()
    settled_items: int = 0  # the ledger rows left out for them (the mass-delete guard's base)
    # rows of settled lists whose uid a pulled entity carries (`settle.unmatched_source_ids`)
    uid_rows: Sequence[LedgerRow] = ()
    # by local uid: what an unmapped entity was when its remote copy landed (a create whose
    # answer was lost; `sync.books.adoption`), the base its adoption merges against
    adopt_bases: Mapping[str, Fields] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    actions: list[act.Action] = field(default_factory=list)
    unchanged: int = 0
    held_reason: str | None = None
    # mapped remote lists for which nothing at all was planned (the list nor any item)
    quiet_lists: set[str] = field(default_factory=set)

    @property
    def destructive(self) -> list[act.Action]:
        return [a for a in self.actions if _is_destructive(a)]


def build(data: PlanInput, options: PlanOptions) -> Plan:
    """Plans one sync of everything in `data`."""
    planner = _Planner(data, options)
    planner.plan_lists()
    planner.plan_items()
    plan = Plan(
        actions=planner.ordered_actions(),
        unchanged=planner.unchanged,
        quiet_lists=planner.quiet_lists,
    )
    plan.held_reason = _mass_delete_reason(data, options, plan)
    return plan


def _is_destructive(action: act.Action) -> bool:
    if isinstance(action, act.DeleteLocal):
        return True
    return isinstance(action, act.DeleteRemote) and action.reason == "deleted"


def _mass_delete_reason(data: PlanInput, options: PlanOptions, plan: Plan) -> str | None:
    """Why the plan must be held rather than applied, or None: a plan with nothing
    destructive in it holds nothing back (an empty pull whose lists were all edited here, so
    pushed back, is no reason to hold)."""
    if not plan.destructive:
        return None
    mapped = len(data.ledger) + data.settled_items
    pulled = len(data.remote_lists) if data.pulled_lists is None else data.pulled_lists
    if mapped and not pulled and not data.invalid:
        return (
            f"the external API returned no lists while {mapped} entities are mapped"
            f"{_WAYS_ON['local']}"
        )
    for side, kind in (("local", act.DeleteLocal), ("remote", act.DeleteRemote)):
        count = sum(len(a.ledger_ids) or 1 for a in plan.destructive if isinstance(a, kind))
        if count >= options.mass_delete_min and count * 100 > options.mass_delete_percent * mapped:
            return (
                f"{count} of {mapped} mapped entities would be deleted on the {side} side "
                f"(limit: {options.mass_delete_min} and {options.mass_delete_percent:g} %)"
                f"{_WAYS_ON[side]}"
            )
    return None


# How an operator goes on from a held run, said in its reason (the dashboard shows it too).
_WAYS_ON = {
    "local": "; deleted on purpose remotely: allow the mass delete; the external account was "
    "reset: restore it from here (--restore-remote)",
    "remote": "; deleted on purpose here: allow the mass delete",
}


def _strictly_later(remote_at: datetime | None, local_at: datetime, skew_s: float) -> bool:
    """Whether a remote write is later than a local one, at millisecond precision, in local
    time; unlike a conflict, a tie goes to the local side (see `act.Adopt`)."""
    if remote_at is None:
        return False
    remote_local = remote_at - timedelta(seconds=skew_s)
    return _ms(remote_local) > _ms(local_at)


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _list_fields(remote: RemoteList) -> Fields:
    return {"name": remote.name}


def _item_fields(remote: RemoteItem) -> Fields:
    return {"description": remote.description, "completed": remote.completed}


class _Planner:
    """Holds the indexes of one planning pass; `plan_lists` runs before `plan_items`."""

    def __init__(self, data: PlanInput, options: PlanOptions) -> None:
        self.data = data
        self.options = options
        self.edit_wins = options.delete_policy is DeletePolicy.EDIT_WINS
        self.unchanged = 0
        self.list_actions: list[act.Action] = []
        self.item_local_actions: list[act.Action] = []
        self.item_remote_actions: list[act.Action] = []
        self.recreates: list[act.Action] = []
        self.local = {(row.kind, row.id): row for row in data.local}
        self.local_by_uid = {row.uid: row for row in data.local}
        self.ledger_lists = {r.external_id: r for r in data.ledger if r.kind == "list"}
        self.ledger_items = {r.remote_key: r for r in data.ledger if r.kind == "item"}
        self.ledger_by_local = {(r.kind, r.local_id): r for r in data.ledger}
        self.ledger_by_uid = {r.local_uid: r for r in (*data.uid_rows, *data.ledger)}
        self.item_rows_by_list: dict[str, list[LedgerRow]] = defaultdict(list)
        for row in self.ledger_items.values():
            self.item_rows_by_list[row.parent_external_id].append(row)
        self.changed_items_by_list: dict[int, list[LocalRow]] = defaultdict(list)
        for local in data.local:
            if local.kind == "item" and local.parent_id is not None:
                self.changed_items_by_list[local.parent_id].append(local)
        # remote list id -> local list id, for lists whose items are planned item by item
        self.item_targets: dict[str, int] = {}
        self.claimed_uids: set[str] = set()
        self.lists_created_here: set[int] = set()  # local lists whose items a POST carries
        self.replaced = self._replaced_external_ids()
        self.handled: set[str] = set()  # remote lists that an earlier branch took care of
        self.recreate_items: dict[int, list[int]] = defaultdict(list)
        self.invalid_lists = {e.external_id for e in data.invalid if e.kind == "list"}
        self.invalid_items = {
            (e.list_external_id or "", e.external_id) for e in data.invalid if e.kind == "item"
        }
        # remote list id -> its items that were pulled but could not be read (quarantined)
        self.unreadable: dict[str, list[str]] = defaultdict(list)
        for entity in data.invalid:
            if entity.kind == "item" and entity.list_external_id:
                self.unreadable[entity.list_external_id].append(entity.external_id or "?")
        self.quiet_lists: set[str] = set()

    def _planned(self) -> int:
        """How many actions are planned so far (to tell whether a step planned any)."""
        return (
            len(self.list_actions)
            + len(self.item_local_actions)
            + len(self.item_remote_actions)
            + len(self.recreate_items)
        )

    # -- lists ---------------------------------------------------------------------------

    def plan_lists(self) -> None:
        remote_ids = {r.id for r in self.data.remote_lists}
        self._finish_recreates()
        for remote in self._dedupe(self.data.remote_lists):
            if remote.id in self.handled:
                continue
            if remote.id in self.replaced:
                # the old copy of a re-created list: delete it
                owner = self.replaced[remote.id]
                self.list_actions.append(
                    act.DeleteRemote("list", remote.id, "", owner.local_id, (), "replaced")
                )
                continue
            row = self.ledger_lists.get(remote.id)
            if row is not None:
                before = self._planned()
                self._mapped_list(row, remote)
                if self._planned() == before:
                    self.quiet_lists.add(remote.id)
            else:
                self._unmapped_remote_list(remote)
        for row in self.ledger_lists.values():
            if row.external_id not in remote_ids:
                self._missing_remote_list(row)
        for local in self.data.local:
            if local.kind == "list" and self._unmapped_local(local):
                self._local_only_list(local)

    def _replaced_external_ids(self) -> dict[str, LedgerRow]:
        """Old remote copies of re-created lists (which must go, never be imported), each with
        the ledger row of the list that replaced it."""
        return {
            str(row.intent_data["old_external_id"]): row
            for row in self.ledger_lists.values()
            if row.intent == INTENT_DELETE_OLD and row.intent_data
        }

    def _finish_recreates(self) -> None:
        """Completes re-creates that reached the server before the run stopped."""
        for row in [r for r in self.ledger_lists.values() if r.intent == INTENT_RECREATE]:
            landed = sorted(
                (
                    r
                    for r in self.data.remote_lists
                    if r.source_id == row.local_uid and r.id != row.external_id
                ),
                key=lambda r: r.id,
            )
            if not landed:
                # the re-create never reached the server: it is planned again if still needed
                continue
            local = self.local.get(("list", row.local_id))
            if local is not None and local.deleted:
                self._abandon_recreate(row, landed)
                continue
            # re-created remotely, the ledger not yet remapped: remap, delete the old copy
            new, *extras = landed
            self.list_actions.append(
                act.RecreateRemoteList(
                    local_id=row.local_id,
                    ledger_id=row.id,
                    old_external_id=row.external_id,
                    new_item_ids=(),
                    landed=new,
                )
            )
            for extra in extras:
                self._delete_remote_list(extra, reason="duplicate")
            self.handled.update({row.external_id, *(r.id for r in landed)})
            del self.ledger_lists[row.external_id]

    def _abandon_recreate(self, row: LedgerRow, landed: list[RemoteList]) -> None:
        """A list deleted here after its re-create landed: no copy of it may stay."""
        old = next((r for r in self.data.remote_lists if r.id == row.external_id), None)
        for copy in landed:
            # the new copies carry the deleted list's uid: never import them
            self._delete_remote_list(copy, reason="duplicate")
        self.handled.update(r.id for r in landed)
        if old is None:
            # gone remotely too: only the ledger rows remain (deletion detection forgets them)
            return
        self.handled.add(old.id)
        del self.ledger_lists[row.external_id]
        if self.edit_wins and (
            list_hash(old.name) != row.content_hash or self._items_edited_remotely(old)
        ):
            # deleted here, edited remotely: the edit wins; bring the old copy back here
            self.list_actions.append(
                act.CreateLocalList(old, replaces_ledger_ids=self._list_ledger_ids(row))
            )
        else:
            # deleted here: delete the old copy remotely too
            self._delete_remote_list(old, reason="deleted", row=row)

    def _dedupe(self, remotes: Sequence[RemoteList]) -> Iterable[RemoteList]:
        """Yields remote lists, deleting extra unmapped copies that carry the same local uid."""
        by_source: dict[str, list[RemoteList]] = defaultdict(list)
        for remote in remotes:
            # a finished re-create's copies are already decided (its landed copy carries the
            # same uid as the old one it replaces, and must be remapped, not deleted)
            unmapped = remote.id not in self.ledger_lists and remote.id not in self.handled
            if remote.source_id and unmapped:
                by_source[remote.source_id].append(remote)
        extras: set[str] = set()
        for source_id, copies in by_source.items():
            if len(copies) > 1 and source_id in self.local_by_uid:
                # one create answered twice (ambiguous write retried elsewhere): keep the first
                for extra in sorted(copies, key=lambda r: r.id)[1:]:
                    extras.add(extra.id)
                    self._delete_remote_list(extra, reason="duplicate")
        return (r for r in remotes if r.id not in extras)

    def _mapped_list(self, row: LedgerRow, remote: RemoteList) -> None:
        local = self.local.get(("list", row.local_id))
        remote_changed = list_hash(remote.name) != row.content_hash
        if local is not None and local.deleted:
            # an item edited or added remotely is an edit of the list too, as it is on the
            # local side (`_list_edited_locally`); otherwise deleting the list would lose it
            # (a remote value equal to the local one is our own push whose answer was lost,
            # not an edit)
            edited = remote_changed and _list_fields(remote) != local.fields
            if self.edit_wins and (edited or self._items_edited_remotely(remote)):
                # deleted here, edited remotely: the edit wins; bring the list back here
                self.list_actions.append(
                    act.CreateLocalList(remote, replaces_ledger_ids=self._list_ledger_ids(row))
                )
            else:
                # deleted here: delete remotely; its items go with it
                self._delete_remote_list(remote, reason="deleted", row=row)
            return
        self.item_targets[remote.id] = row.local_id
        edited_at = remote.updated_at
        if remote_changed and local is not None and self._time_of_an_item(remote):
            # the list's time is an item's (a server that bumps a list with its items): when
            # its own fields changed is unknown, so a conflict goes to the known local write
            edited_at = None
        self._update(row, local, _list_fields(remote), remote.updated_at, remote_changed, edited_at)

    def _time_of_an_item(self, remote: RemoteList) -> bool:
        """Whether the list's `updated_at` is that of its newest item, changed (or added)
        remotely since the last agreement: then it tells nothing of the list's own fields."""
        stamped = [item for item in remote.items if item.updated_at is not None]
        if remote.updated_at is None or not stamped:
            return False
        newest = max(stamped, key=lambda item: item.updated_at or _EPOCH)
        assert newest.updated_at is not None
        if _ms(newest.updated_at) != _ms(remote.updated_at):
            return False
        row = self.ledger_items.get((remote.id, newest.id))
        return row is None or item_hash(newest.description, newest.completed) != row.content_hash

    def _items_edited_remotely(self, remote: RemoteList) -> bool:
        for item in remote.items:
            row = self.ledger_items.get((remote.id, item.id))
            if row is None:
                if not (item.source_id and item.source_id in self.local_by_uid):
                    return True  # new remotely (not a create of ours whose answer was lost)
                continue
            if item_hash(item.description, item.completed) == row.content_hash:
                continue
            local = self.local.get(("item", row.local_id))
            if local is None or local.fields != _item_fields(item):
                return True  # changed remotely, and not to the local value (our own push)
        return False

    def _unmapped_remote_list(self, remote: RemoteList) -> None:
        source = remote.source_id
        mapped = self.ledger_by_uid.get(source) if source else None
        local = self.local_by_uid.get(source) if source else None
        if mapped is not None and mapped.kind == "list":
            # a second remote copy of a list that is already mapped: remove the copy
            self._delete_remote_list(remote, reason="duplicate")
        elif local is not None and local.kind == "list" and local.deleted:
            # created from here, then deleted here before the create was recorded
            self._delete_remote_list(remote, reason="deleted", local_id=local.id)
        elif local is not None and local.kind == "list":
            # created from here, but the answer was lost: adopt it, never create it twice
            self.claimed_uids.add(local.uid)
            self.item_targets[remote.id] = local.id
            self._adopt(local, remote.id, "", None, _list_fields(remote), remote.updated_at)
        else:
            # new remotely: create it here with its items
            self.list_actions.append(act.CreateLocalList(remote))

    def _missing_remote_list(self, row: LedgerRow) -> None:
        if not self.data.complete or row.external_id in self.invalid_lists:
            # no deletion detection after an incomplete pull or for quarantined data
            return
        if None in self.invalid_lists:
            # a quarantined list without a usable id may be this one: not provably deleted
            return
        local = self.local.get(("list", row.local_id))
        ledger_ids = self._list_ledger_ids(row)
        if local is not None and local.deleted:
            # deleted on both sides: forget it
            self.list_actions.append(act.Forget("list", row.local_id, ledger_ids))
        elif self.options.restore_remote:
            # missing remotely, and the operator restores the remote side: create it again
            # (no local row here means unchanged since the last run, not gone)
            self.lists_created_here.add(row.local_id)
            self.list_actions.append(act.CreateRemoteList(row.local_id, ledger_ids))
        elif self.edit_wins and self._list_edited_locally(row, local):
            # deleted remotely, edited here: the edit wins; create it remotely again
            self.lists_created_here.add(row.local_id)
            self.list_actions.append(act.CreateRemoteList(row.local_id, ledger_ids))
        else:
            # deleted remotely: delete here, with its items
            version = local.version if local is not None else row.local_version
            self.list_actions.append(
                act.DeleteLocal("list", row.local_id, row.external_id, ledger_ids, version)
            )

    def _local_only_list(self, local: LocalRow) -> None:
        if local.deleted:
            # created and deleted here between two runs (or already propagated): nothing to do
            return
        # new here: one POST carries it with all its items
        self.lists_created_here.add(local.id)
        self.list_actions.append(act.CreateRemoteList(local.id))

    def _list_edited_locally(self, row: LedgerRow, local: LocalRow | None) -> bool:
        if local is not None and local.fields != row.snapshot():
            return True
        return any(
            self._item_edited_or_new(item) for item in self.changed_items_by_list[row.local_id]
        )

    def _item_edited_or_new(self, item: LocalRow) -> bool:
        if item.deleted:
            return False
        row = self.ledger_by_local.get(("item", item.id))
        return row is None or item.fields != row.snapshot()

    def _list_ledger_ids(self, row: LedgerRow) -> tuple[int, ...]:
        return (row.id, *(r.id for r in self.item_rows_by_list[row.external_id]))

    def _delete_remote_list(
        self,
        remote: RemoteList,
        *,
        reason: str,
        row: LedgerRow | None = None,
        local_id: int | None = None,
    ) -> None:
        """`local_id`: the deleted local list of an unmapped copy (for a hold's report)."""
        owner = row.local_id if row is not None else local_id
        if reason == "deleted" and owner is not None:
            held = self._withheld(remote.id, owner, "delete")
            if held is not None:
                # deleted here, but the remote copy holds items never read here: keep it
                self.list_actions.append(held)
                return
        ledger_ids = self._list_ledger_ids(row) if row is not None else ()
        local_id = row.local_id if row is not None else None
        self.list_actions.append(
            act.DeleteRemote("list", remote.id, "", local_id, ledger_ids, reason=reason)
        )

    # -- items ---------------------------------------------------------------------------

    def plan_items(self) -> None:
        remote_by_id = {r.id: r for r in self.data.remote_lists}
        for list_external_id, list_local_id in self.item_targets.items():
            remote = remote_by_id[list_external_id]
            if list_external_id in self.data.settled:
                # unchanged on both sides with all its items (its digest says so): no call
                self.unchanged += len(remote.items)
                continue
            before = self._planned()
            self._plan_items_of(remote, list_local_id)
            if self._planned() != before:
                self.quiet_lists.discard(list_external_id)
        self._plan_local_only_items()

    def _plan_items_of(self, remote: RemoteList, list_local_id: int) -> None:
        seen: set[str] = set()
        for item in remote.items:
            seen.add(item.id)
            row = self.ledger_items.get((remote.id, item.id))
            if row is not None:
                self._mapped_item(row, item, remote.id, list_local_id)
            else:
                self._unmapped_remote_item(item, remote.id, list_local_id)
        # an invalid item without a usable id may be any missing one: no deletions in this
        # list. One with an id protects only itself (`_missing_remote_item`), so a lasting bad
        # item does not stop remote deletions of the others from ever reaching this side.
        uncertain = (remote.id, None) in self.invalid_items
        for row in self.item_rows_by_list[remote.id]:
            if row.external_id not in seen and not uncertain and self.data.complete:
                self._missing_remote_item(row, list_local_id)

    def _mapped_item(
        self, row: LedgerRow, remote: RemoteItem, list_external_id: str, list_local_id: int
    ) -> None:
        local = self.local.get(("item", row.local_id))
        remote_changed = item_hash(remote.description, remote.completed) != row.content_hash
        if local is not None and local.deleted:
            # a remote value equal to the local one is our own push, not an edit
            if remote_changed and self.edit_wins and _item_fields(remote) != local.fields:
                # deleted here, edited remotely: the edit wins; create it here again
                self.item_local_actions.append(
                    act.CreateLocalItem(remote, list_local_id, list_external_id, (row.id,))
                )
            else:
                # deleted here: delete remotely
                self.item_remote_actions.append(
                    act.DeleteRemote("item", remote.id, list_external_id, row.local_id, (row.id,))
                )
            return
        self._update(
            row, local, _item_fields(remote), remote.updated_at, remote_changed, remote.updated_at
        )

    def _unmapped_remote_item(
        self, remote: RemoteItem, list_external_id: str, list_local_id: int
    ) -> None:
        source = remote.source_id
        mapped = self.ledger_by_uid.get(source) if source else None
        local = self.local_by_uid.get(source) if source else None
        claimed = local is not None and local.uid in self.claimed_uids
        if (mapped is not None and mapped.kind == "item") or claimed:
            # a second remote copy of an item that is already mapped (or adopted): remove it
            self.item_remote_actions.append(
                act.DeleteRemote("item", remote.id, list_external_id, None, (), "duplicate")
            )
        elif local is not None and local.kind == "item" and local.deleted:
            # created from here, then deleted here before the create was recorded
            self.item_remote_actions.append(
                act.DeleteRemote("item", remote.id, list_external_id, local.id, ())
            )
        elif local is not None and local.kind == "item" and local.parent_id == list_local_id:
            # created from here, but the answer was lost: adopt it
            self.claimed_uids.add(local.uid)
            self._adopt(
                local,
                remote.id,
                list_external_id,
                list_local_id,
                _item_fields(remote),
                remote.updated_at,
            )
        else:
            # new remotely: create it here
            self.item_local_actions.append(
                act.CreateLocalItem(remote, list_local_id, list_external_id)
            )

    def _missing_remote_item(self, row: LedgerRow, list_local_id: int) -> None:
        if row.remote_key in self.invalid_items:
            # quarantined remotely: neither imported nor deleted
            return
        local = self.local.get(("item", row.local_id))
        if local is not None and local.deleted:
            # deleted on both sides: forget it
            self.item_local_actions.append(act.Forget("item", row.local_id, (row.id,)))
        elif self.options.restore_remote or (
            self.edit_wins and local is not None and local.fields != row.snapshot()
        ):
            # deleted remotely, edited here (the edit wins), or missing remotely while the
            # operator restores the remote side (no local row: unchanged here): send it again
            self._needs_remote_create(row.local_id, list_local_id, replaces=(row.id,))
        else:
            # deleted remotely: delete here
            version = local.version if local is not None else row.local_version
            self.item_local_actions.append(
                act.DeleteLocal("item", row.local_id, row.external_id, (row.id,), version)
            )

    def _plan_local_only_items(self) -> None:
        for local in self.data.local:
            if local.kind != "item" or not self._unmapped_local(local) or local.deleted:
                # a tombstone never synced needs nothing; mapped items were planned above
                continue
            assert local.parent_id is not None
            if local.parent_id in self.lists_created_here:
                # new in a list that a POST creates now: the POST carries it
                continue
            if self.ledger_by_local.get(("list", local.parent_id)) is None:
                # its list is not mapped yet: it waits for the next run
                continue
            self._needs_remote_create(local.id, local.parent_id, replaces=())
        self._plan_recreates()

    def _needs_remote_create(
        self, local_id: int, list_local_id: int, *, replaces: tuple[int, ...]
    ) -> None:
        list_row = self.ledger_by_local.get(("list", list_local_id))
        if list_row is None or list_row.external_id not in self.item_targets:
            # its list is going away or not planned item by item this run
            return
        self.quiet_lists.discard(list_row.external_id)
        if self.options.item_create:
            # the server offers item creation: one POST for this item
            self.item_remote_actions.append(
                act.CreateRemoteItem(local_id, list_local_id, list_row.external_id, replaces)
            )
        elif self.options.new_item_strategy is NewItemStrategy.RECREATE:
            # no item endpoint: the list is re-created with all its items (after the rest)
            self.recreate_items[list_local_id].append(local_id)
        else:
            # `hold`: keep it pending and report it
            self.item_remote_actions.append(
                act.Hold("item", local_id, "new item in a list that exists remotely")
            )

    def _plan_recreates(self) -> None:
        for list_local_id, item_ids in self.recreate_items.items():
            row = self.ledger_by_local[("list", list_local_id)]
            held = self._withheld(row.external_id, list_local_id, "re-create")
            if held is not None:
                # a re-create deletes the old copy, and with it items never read here: wait
                self.list_actions.append(held)
                continue
            self.recreates.append(
                act.RecreateRemoteList(
                    local_id=list_local_id,
                    ledger_id=row.id,
                    old_external_id=row.external_id,
                    new_item_ids=tuple(sorted(item_ids)),
                )
            )

    # -- shared --------------------------------------------------------------------------

    def _withheld(self, external_id: str, local_id: int, step: str) -> act.Hold | None:
        """A hold instead of a step that would delete the remote list `external_id` while it
        holds items that could not be read here (they were never imported: deleting them
        loses them on both sides), or None when the step may go on."""
        unreadable = self.unreadable.get(external_id)
        if not unreadable or self.options.drop_unreadable:
            return None
        shown = ", ".join(sorted(unreadable)[:5]) + (", ..." if len(unreadable) > 5 else "")
        return act.Hold(
            "list",
            local_id,
            f"{step} held: the remote list {external_id} holds {len(unreadable)} item(s) "
            f"that could not be read here (quarantined: {shown}); fix them remotely, or "
            "allow it with --allow-mass-delete (they are then deleted)",
            shortfall=True,
        )

    def _unmapped_local(self, local: LocalRow) -> bool:
        return (
            self.ledger_by_local.get((local.kind, local.id)) is None
            and local.uid not in self.claimed_uids
        )

    def _update(
        self,
        row: LedgerRow,
        local: LocalRow | None,
        remote_fields: Fields,
        remote_updated_at: datetime | None,
        remote_changed: bool,
        remote_edited_at: datetime | None,
    ) -> None:
        """`remote_edited_at`: when the remote fields changed, for last-write-wins (None:
        unknown, and the local write wins); `remote_updated_at` is what the ledger keeps."""
        if local is None and not remote_changed:
            # unchanged on both sides: nothing to do, no call
            self.unchanged += 1
            return
        base = row.snapshot()
        result = merge.three_way(
            base=base,
            local=local.fields if local is not None else base,
            remote=remote_fields,
            local_updated_at=local.updated_at if local is not None else _EPOCH,
            remote_updated_at=remote_edited_at,
            skew_s=self.data.skew_s,
        )
        # changed on one side, or both (merged field by field; conflicts by last write)
        self._target(row.kind).append(
            act.Update(
                kind=row.kind,
                ledger_id=row.id,
                local_id=row.local_id,
                external_id=row.external_id,
                parent_external_id=row.parent_external_id,
                expected_version=local.version if local is not None else row.local_version,
                merged=result.merged,
                push=result.push,
                pull=result.pull,
                remote_updated_at=remote_updated_at,
                conflicts=result.conflicts,
                local=local.fields if local is not None else base,
            )
        )

    def _adopt(
        self,
        local: LocalRow,
        external_id: str,
        parent_external_id: str,
        parent_local_id: int | None,
        remote_fields: Fields,
        remote_updated_at: datetime | None,
    ) -> None:
        push: Fields = {}
        pull: Fields = {}
        remote_later = _strictly_later(remote_updated_at, local.updated_at, self.data.skew_s)
        # what the lost create sent, when the history knows it: a field that moved on one
        # side only takes that side's value, whichever side was edited later
        base = self.data.adopt_bases.get(local.uid, {})
        for name, value in local.fields.items():
            if remote_fields.get(name) == value:
                continue
            if name in base and value == base[name]:
                pull[name] = remote_fields[name]  # edited there only
            elif name in base and remote_fields.get(name) == base[name]:
                push[name] = value  # edited here only
            elif remote_later:
                # edited remotely after the lost create landed: the remote copy is the later
                pull[name] = remote_fields[name]
            else:
                # the usual case: the local side is as new or newer; send it
                push[name] = value
        self._target(local.kind).append(
            act.Adopt(
                kind=local.kind,
                local_id=local.id,
                local_uid=local.uid,
                local_version=local.version,
                external_id=external_id,
                parent_external_id=parent_external_id,
                parent_local_id=parent_local_id,
                agreed={**local.fields, **pull},
                push=push,
                remote_updated_at=remote_updated_at,
                pull=pull,
                local=local.fields,
            )
        )

    def _target(self, kind: Kind) -> list[act.Action]:
        return self.list_actions if kind == "list" else self.item_local_actions

    def ordered_actions(self) -> list[act.Action]:
        """Lists first, then items; local writes before remote ones; re-creates last."""
        return [
            *self.list_actions,
            *self.item_local_actions,
            *self.item_remote_actions,
            *self.recreates,
        ]
