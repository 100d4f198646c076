"""Passing over unchanged lists by their digest (`sync.settle`) and how the planner uses it."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

import msgspec

from tests.sync.factories import (
    invalid,
    ledger_item,
    ledger_list,
    local_item,
    remote_item,
    remote_list,
)
from todosync.external.schemas import RemoteList
from todosync.sync.core import plan, settle
from todosync.sync.core.snapshot import LedgerRow, LocalRow

REMOTE_A = remote_list(
    "A", "Groceries", items=(remote_item("a1", "Buy milk"), remote_item("a2", "Buy bread"))
)
DIGEST_A = settle.digest_of(REMOTE_A)
LIST_A = dataclasses.replace(ledger_list(1, local_id=1, external_id="A"), items_digest=DIGEST_A)
ITEM_A1 = ledger_item(2, local_id=11, list_local_id=1, list_external_id="A", external_id="a1")
ITEM_A2 = ledger_item(
    3, local_id=12, list_local_id=1, list_external_id="A", external_id="a2", description="Buy bread"
)


def _settled(
    row: LedgerRow = LIST_A,
    remote: RemoteList = REMOTE_A,
    *,
    local: Sequence[LocalRow] = (),
    unsure: Collection[str] = (),
    seen_pull: bool = False,
) -> frozenset[str]:
    return settle.settled(
        list_rows=[row], remote_lists=[remote], local=local, unsure=unsure, seen_pull=seen_pull
    )


def test_the_digest_ignores_the_order_of_items_but_not_their_content() -> None:
    """A server may list items in any order; any change of a field changes the digest."""
    reordered = msgspec.structs.replace(REMOTE_A, items=REMOTE_A.items[::-1])
    completed = msgspec.structs.replace(
        REMOTE_A, items=(remote_item("a1", "Buy milk", completed=True), REMOTE_A.items[1])
    )
    renamed = msgspec.structs.replace(REMOTE_A, name="Shopping")

    assert settle.digest_of(reordered) == DIGEST_A
    assert settle.digest_of(completed) != DIGEST_A
    assert settle.digest_of(renamed) != DIGEST_A


def test_a_list_pulled_with_its_recorded_digest_is_settled() -> None:
    """Same digest, nothing moved locally: the list is passed over."""
    assert _settled() == {"A"}


def test_a_list_is_compared_item_by_item_when_anything_may_have_changed() -> None:
    """A remote change, a moved local item, an intent, invalid or quarantined data, or no
    recorded digest each keep the list out of the settled set."""
    edited = msgspec.structs.replace(REMOTE_A, items=(remote_item("a1", "Buy oat milk"),))
    moved = local_item(11, list_id=1, description="Buy milk", version=2)
    unsure = settle.unsure_lists([invalid("item", "a9", list_external_id="A")], [])

    assert _settled(remote=edited) == set()
    assert _settled(local=[moved]) == set()
    assert _settled(row=dataclasses.replace(LIST_A, intent="recreate")) == set()
    assert _settled(unsure=unsure) == set()
    assert _settled(unsure={"A"}) == set()
    assert _settled(row=dataclasses.replace(LIST_A, items_digest=None)) == set()


def test_a_pull_seen_whole_before_spares_the_digest_but_not_the_other_checks() -> None:
    """With `seen_pull` the recorded digest is taken as equal (the bytes are the same), while
    moved rows, intents, unsure lists and unknown digests still keep a list out."""
    edited = msgspec.structs.replace(REMOTE_A, items=(remote_item("a1", "Buy oat milk"),))
    moved = local_item(11, list_id=1, description="Buy milk", version=2)
    no_digest = dataclasses.replace(LIST_A, items_digest=None)

    # not computed: the caller vouches that the bytes are those the digest was checked with
    assert _settled(remote=edited, seen_pull=True) == {"A"}
    assert _settled(remote=edited, seen_pull=True, local=[moved]) == set()
    assert _settled(dataclasses.replace(LIST_A, intent="recreate"), seen_pull=True) == set()
    assert _settled(remote=edited, seen_pull=True, unsure={"A"}) == set()
    assert _settled(no_digest, remote=edited, seen_pull=True) == set()


def test_a_pull_is_recorded_only_when_every_list_digest_agrees_with_it() -> None:
    """Only a run over all lists and the whole pull, that left no list unsure or with an
    intent (whose digests `to_record` passes over), may record the pull's digest."""
    assert settle.may_record_pull([LIST_A], whole=True, unsure=())
    assert not settle.may_record_pull([LIST_A], whole=False, unsure=())
    assert not settle.may_record_pull([LIST_A], whole=True, unsure={"A"})
    with_intent = dataclasses.replace(LIST_A, intent="recreate")
    assert not settle.may_record_pull([with_intent], whole=True, unsure=())


def test_the_planner_passes_over_a_settled_list_without_its_item_rows() -> None:
    """A settled list plans nothing, counts every item unchanged and stays quiet."""
    data = plan.PlanInput(
        remote_lists=[REMOTE_A],
        local=(),
        ledger=[LIST_A],
        settled=frozenset({"A"}),
        settled_items=2,
    )

    result = plan.build(data, plan.PlanOptions())

    assert result.actions == []
    assert result.unchanged == 3
    assert result.quiet_lists == {"A"}


def test_a_list_with_a_planned_action_is_not_quiet_and_its_digest_goes_stale() -> None:
    """An item changed remotely makes its list's recorded digest stale before anything runs."""
    edited = msgspec.structs.replace(
        REMOTE_A, items=(remote_item("a1", "Oat milk"), REMOTE_A.items[1])
    )
    data = plan.PlanInput(remote_lists=[edited], local=(), ledger=[LIST_A, ITEM_A1, ITEM_A2])

    result = plan.build(data, plan.PlanOptions())

    assert len(result.actions) == 1
    assert result.quiet_lists == set()
    assert settle.stale([LIST_A], quiet=result.quiet_lists) == {LIST_A.id: None}


def test_after_a_run_only_quiet_lists_get_a_new_digest() -> None:
    """The pulled digest is recorded for a list where nothing was planned, and only if new."""
    without = dataclasses.replace(LIST_A, items_digest=None)

    recorded = settle.to_record(
        [without], remote_lists=[REMOTE_A], quiet={"A"}, unsure=(), settled=()
    )
    not_quiet = settle.to_record(
        [without], remote_lists=[REMOTE_A], quiet=(), unsure=(), settled=()
    )
    unchanged = settle.to_record(
        [LIST_A], remote_lists=[REMOTE_A], quiet={"A"}, unsure=(), settled=()
    )

    assert recorded == {LIST_A.id: DIGEST_A}
    assert not_quiet == {}
    assert unchanged == {}
