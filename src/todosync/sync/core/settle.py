"""Passing over unchanged lists: the per-list digest that keeps the no-change path lean.

A list's ledger row keeps the `fields.list_digest` of the content both sides last agreed on,
the list with all its items. A run that pulls the same digest for a list, and finds no local
row under it that moved, no intent on it, and no invalid or quarantined entity in it, knows
that the list and its items are unchanged on both sides: it loads none of their ledger rows
and plans nothing for them (`settled`). At 100k items that turns 100k comparisons (and 100k
ledger rows read) into one per list.

A digest may vouch only for the ledger rows it was computed with, so:
- before a run applies anything, it forgets the digest of every list it planned anything for
  (`stale`), in a transaction of its own: a crash later leaves no digest vouching for rows
  that changed since;
- after the run, it records the pulled digest of each list for which nothing was planned
  (`to_record`): then the remote list, its ledger rows and its local rows all agreed;
- a list created on one side with all its items gets its digest with its ledger row
  (`digest_of`).

Computing the digests of every pulled list is itself the largest cost of a run that finds
nothing to do (a sort, an encoding and a hash per list), so the connection also keeps the
digest of the raw pull (`PullResult.body_digest`) that all recorded list digests agree with.
A run that pulls those very bytes again knows each recorded digest equals the pulled one
without computing it (`settled(..., seen_pull=True)`). That holds only while no list digest
has been written since, so:
- every write of list digests, and every run that plans any action, forgets the pull digest
  in the same transaction (the engine's `_save_digests`);
- a run records it (`may_record_pull`) only when it covered every list, read the whole
  pull and left no list out of `to_record` (none unsure, none with an intent). Then each
  list row under a pulled list holds that pull's digest (settled or recorded after the
  run), or none (forgotten before its actions); the digests written while applying are an
  imported list's, taken from that very pull, and a pushed list's, which is not in it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from todosync.external.schemas import InvalidEntity, RemoteList
from todosync.sync.core.fields import list_digest
from todosync.sync.core.snapshot import LedgerRow, LocalRow

__all__ = [
    "digest_of",
    "may_record_pull",
    "settled",
    "stale",
    "to_record",
    "unmatched_source_ids",
    "unsure_lists",
]


def digest_of(remote: RemoteList) -> str:
    """The digest of a pulled list with its (valid) items."""
    return list_digest(remote.name, ((i.id, i.description, i.completed) for i in remote.items))


def settled(
    *,
    list_rows: Iterable[LedgerRow],
    remote_lists: Sequence[RemoteList],
    local: Sequence[LocalRow],
    unsure: Collection[str],
    seen_pull: bool = False,
) -> frozenset[str]:
    """The remote ids of the lists whose pulled digest equals the recorded one and that
    nothing else touches: no moved local row, no intent, not in `unsure` (lists with
    invalid or quarantined entities, see `unsure_lists`). With `seen_pull` (the pull's
    bytes are those that every recorded digest was checked against) a recorded digest is
    known to be equal and is not computed again."""
    moved = {row.id if row.kind == "list" else row.parent_id for row in local}
    remote_by_id = {remote.id: remote for remote in remote_lists}
    found: set[str] = set()
    for row in list_rows:
        remote = remote_by_id.get(row.external_id)
        if (
            remote is None
            or row.items_digest is None
            or row.intent is not None
            or row.local_id in moved
            or row.external_id in unsure
        ):
            continue
        if seen_pull or digest_of(remote) == row.items_digest:
            found.add(row.external_id)
    return frozenset(found)


def may_record_pull(
    list_rows: Iterable[LedgerRow], *, whole: bool, unsure: Collection[str]
) -> bool:
    """Whether, after a run, every list digest agrees with the run's pull, so that its
    `body_digest` may be recorded: the run covered all lists and read the whole pull
    (`whole`), and `to_record` passed over no pulled list (none unsure, none with an
    intent)."""
    return whole and not unsure and all(row.intent is None for row in list_rows)


def unsure_lists(invalid: Iterable[InvalidEntity], quarantined: Iterable[str]) -> set[str]:
    """Remote lists that must be compared item by item: those with invalid data in the pull
    and those with quarantine rows (`quarantine.Book.remote_lists`)."""
    lists = {e.external_id if e.kind == "list" else e.list_external_id for e in invalid}
    return {list_id for list_id in (*lists, *quarantined) if list_id}


def unmatched_source_ids(
    remote_lists: Sequence[RemoteList], *, settled: Collection[str], rows: Sequence[LedgerRow]
) -> set[str]:
    """The `source_id`s of pulled items, outside settled lists, that match no loaded ledger
    row: the planner must know whether they name an entity mapped in a settled list."""
    mapped = {row.remote_key for row in rows if row.kind == "item"}
    uids = {row.local_uid for row in rows}
    claimed: set[str] = set()
    for remote in remote_lists:
        if remote.id in settled:
            continue
        for item in remote.items:
            source = item.source_id
            if source and source not in uids and (remote.id, item.id) not in mapped:
                claimed.add(source)
    return claimed


def stale(list_rows: Iterable[LedgerRow], *, quiet: Collection[str]) -> dict[int, None]:
    """The recorded digests to forget before a run applies its plan: every list with one,
    except those the plan leaves alone."""
    return {
        row.id: None
        for row in list_rows
        if row.items_digest is not None and row.external_id not in quiet
    }


def to_record(
    list_rows: Iterable[LedgerRow],
    *,
    remote_lists: Sequence[RemoteList],
    quiet: Collection[str],
    unsure: Collection[str],
    settled: Collection[str],
) -> dict[int, str]:
    """The digests to record after a run: each list for which nothing was planned, where
    the pulled digest differs from the recorded one (a settled list's is known equal)."""
    remote_by_id = {remote.id: remote for remote in remote_lists}
    digests: dict[int, str] = {}
    for row in list_rows:
        remote = remote_by_id.get(row.external_id)
        if (
            remote is None
            or row.external_id not in quiet
            or row.external_id in unsure
            or row.external_id in settled
            or row.intent is not None
        ):
            continue
        digest = digest_of(remote)
        if digest != row.items_digest:
            digests[row.id] = digest
    return digests
