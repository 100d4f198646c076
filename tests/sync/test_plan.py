"""The planner's decision table: one test (or a few) per branch of `plan.build`.

Most tests start from the same agreed world, `LEDGER`: local list 1 ("Groceries") is remote
list "A", with items 11 ("Buy milk", remote "a1") and 12 ("Buy bread", remote "a2"). Local
rows passed to the planner are only the changed ones, as in a real run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sync.factories import (
    T0,
    invalid,
    item_uid,
    ledger_item,
    ledger_list,
    list_uid,
    local_item,
    local_list,
    remote_item,
    remote_list,
)
from todosync.config import DeletePolicy, NewItemStrategy
from todosync.external.schemas import InvalidEntity, RemoteItem, RemoteList
from todosync.sync.core import actions as act
from todosync.sync.core import plan
from todosync.sync.core.fields import Fields
from todosync.sync.core.snapshot import LedgerRow, LocalRow

LIST_A = ledger_list(1, local_id=1, external_id="A")
ITEM_A1 = ledger_item(2, local_id=11, list_local_id=1, list_external_id="A", external_id="a1")
ITEM_A2 = ledger_item(
    3, local_id=12, list_local_id=1, list_external_id="A", external_id="a2", description="Buy bread"
)
LEDGER = (LIST_A, ITEM_A1, ITEM_A2)
A_IDS = (1, 2, 3)  # the ledger rows of list A and its items

DELETE_WINS = plan.PlanOptions(delete_policy=DeletePolicy.DELETE_WINS)
ITEM_CREATE = plan.PlanOptions(item_create=True)
HOLD = plan.PlanOptions(new_item_strategy=NewItemStrategy.HOLD)


def _a1(
    description: str = "Buy milk", *, completed: bool = False, updated_at: datetime | None = T0
) -> RemoteItem:
    return remote_item("a1", description, completed=completed, updated_at=updated_at)


def _a2(
    description: str = "Buy bread", *, completed: bool = False, updated_at: datetime | None = T0
) -> RemoteItem:
    return remote_item("a2", description, completed=completed, updated_at=updated_at)


def _remote_a(
    name: str = "Groceries",
    *,
    items: Sequence[RemoteItem] | None = None,
    source_id: str | None = None,
    updated_at: datetime | None = T0,
) -> RemoteList:
    return remote_list(
        "A",
        name,
        items=(_a1(), _a2()) if items is None else items,
        source_id=source_id,
        updated_at=updated_at,
    )


def _plan(
    remote: Sequence[RemoteList] = (),
    local: Sequence[LocalRow] = (),
    ledger: Sequence[LedgerRow] = LEDGER,
    *,
    invalid: Sequence[InvalidEntity] = (),
    complete: bool = True,
    skew_s: float = 0.0,
    pulled_lists: int | None = None,
    options: plan.PlanOptions = plan.PlanOptions(),  # noqa: B008 - frozen, safe to share
    adopt_bases: Mapping[str, Fields] | None = None,
) -> plan.Plan:
    data = plan.PlanInput(
        remote_lists=remote,
        local=local,
        ledger=ledger,
        invalid=invalid,
        complete=complete,
        skew_s=skew_s,
        pulled_lists=pulled_lists,
        adopt_bases=adopt_bases or {},
    )
    return plan.build(data, options)


def _single(result: plan.Plan) -> act.Action:
    assert len(result.actions) == 1, result.actions
    return result.actions[0]


def _update(result: plan.Plan) -> act.Update:
    action = _single(result)
    assert isinstance(action, act.Update)
    return action


# -- unchanged ----------------------------------------------------------------------------


def test_unchanged_on_both_sides_plans_nothing() -> None:
    """Nothing changed anywhere: no action at all, every mapped entity counted unchanged."""
    result = _plan([_remote_a()])
    assert result.actions == []
    assert result.unchanged == 3
    assert result.held_reason is None


_AGREED_ITEMS = st.lists(
    st.tuples(st.sampled_from(["", "Buy milk", "Buy bread"]), st.booleans()), max_size=4
)
_STAMP = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))


@given(lists=st.lists(_AGREED_ITEMS, max_size=4), stamp=_STAMP, skew_s=st.floats(-600, 600))
def test_agreed_world_always_plans_nothing(
    lists: list[list[tuple[str, bool]]], stamp: datetime | None, skew_s: float
) -> None:
    """Whatever its shape, timestamps or skew, a world both sides agree on plans no action."""
    ledger: list[LedgerRow] = []
    remotes: list[RemoteList] = []
    for n, items in enumerate(lists, start=1):
        ledger.append(ledger_list(n * 100, local_id=n, external_id=f"L{n}", name=f"List {n}"))
        remote_items = []
        for m, (description, completed) in enumerate(items, start=1):
            ledger.append(
                ledger_item(
                    n * 100 + m,
                    local_id=n * 100 + m,
                    list_local_id=n,
                    list_external_id=f"L{n}",
                    external_id=str(m),  # the same item ids in every list
                    description=description,
                    completed=completed,
                )
            )
            remote_items.append(
                remote_item(str(m), description, completed=completed, updated_at=stamp)
            )
        remotes.append(remote_list(f"L{n}", f"List {n}", items=remote_items, updated_at=stamp))
    result = _plan(remotes, ledger=ledger, skew_s=skew_s)
    assert result.actions == []
    assert result.unchanged == len(ledger)
    assert result.held_reason is None


def test_bumped_remote_updated_at_alone_is_no_change() -> None:
    """Remote timestamps that moved without a content change are not a change."""
    later = T0 + timedelta(hours=1)
    remote = _remote_a(items=(_a1(updated_at=later), _a2(updated_at=later)), updated_at=later)
    result = _plan([remote])
    assert result.actions == []
    assert result.unchanged == 3


def test_local_version_bump_without_content_change_writes_nowhere() -> None:
    """A local row whose version moved but whose fields equal the snapshot pushes and pulls
    nothing (it only refreshes the ledger)."""
    result = _plan([_remote_a()], [local_list(1, updated_at=T0 + timedelta(hours=1))])
    update = _update(result)
    assert (update.push, update.pull, update.conflicts) == ({}, {}, ())
    assert update.merged == {"name": "Groceries"}


# -- mapped, changed on one side ----------------------------------------------------------


def test_remote_only_list_change_is_pulled() -> None:
    """A list renamed remotely only is an Update that pulls the name and pushes nothing."""
    result = _plan([_remote_a("Shopping")])
    assert result.actions == [
        act.Update(
            kind="list",
            ledger_id=1,
            local_id=1,
            external_id="A",
            parent_external_id="",
            expected_version=1,
            merged={"name": "Shopping"},
            push={},
            pull={"name": "Shopping"},
            remote_updated_at=T0,
        )
    ]
    assert result.unchanged == 2


def test_local_only_list_change_is_pushed() -> None:
    """A list renamed here only is an Update that pushes the name, conditional on its version."""
    update = _update(_plan([_remote_a()], [local_list(1, "Shopping", version=7)]))
    assert (update.push, update.pull) == ({"name": "Shopping"}, {})
    assert update.expected_version == 7
    assert update.side == "remote"


def test_remote_only_item_change_is_pulled() -> None:
    """An item completed remotely only is pulled, with the ledger's version as the condition."""
    update = _update(_plan([_remote_a(items=(_a1(completed=True), _a2()))]))
    assert (update.kind, update.ledger_id, update.local_id) == ("item", 2, 11)
    assert (update.external_id, update.parent_external_id) == ("a1", "A")
    assert (update.push, update.pull) == ({}, {"completed": True})
    assert update.expected_version == ITEM_A1.local_version
    assert update.side == "local"


def test_local_only_item_change_is_pushed() -> None:
    """An item edited here only is pushed and nothing is pulled."""
    update = _update(_plan([_remote_a()], [local_item(11, 1, "Buy oat milk")]))
    assert (update.push, update.pull) == ({"description": "Buy oat milk"}, {})
    assert update.merged == {"description": "Buy oat milk", "completed": False}


def test_different_fields_changed_on_each_side_both_survive() -> None:
    """Description changed here and completion there: push one, pull the other, no conflict."""
    result = _plan(
        [_remote_a(items=(_a1(completed=True), _a2()))], [local_item(11, 1, "Buy oat milk")]
    )
    update = _update(result)
    assert update.merged == {"description": "Buy oat milk", "completed": True}
    assert (update.push, update.pull) == ({"description": "Buy oat milk"}, {"completed": True})
    assert update.conflicts == ()


def test_same_new_value_on_both_sides_is_no_conflict() -> None:
    """The same edit made on both sides writes nowhere and records no conflict."""
    result = _plan(
        [_remote_a(items=(_a1("Buy oat milk"), _a2()))], [local_item(11, 1, "Buy oat milk")]
    )
    update = _update(result)
    assert (update.push, update.pull, update.conflicts) == ({}, {}, ())
    assert update.merged["description"] == "Buy oat milk"


# -- mapped, same field changed on both sides ---------------------------------------------


def _conflict_plan(
    *, local_at: datetime, remote_at: datetime | None, skew_s: float = 0.0
) -> act.Update:
    result = _plan(
        [_remote_a(items=(_a1("Remote text", updated_at=remote_at), _a2()))],
        [local_item(11, 1, "Local text", updated_at=local_at)],
        skew_s=skew_s,
    )
    return _update(result)


@pytest.mark.parametrize(
    ("local_at", "remote_at", "winner"),
    [(T0 + timedelta(seconds=1), T0, "local"), (T0, T0 + timedelta(seconds=1), "remote")],
)
def test_conflict_goes_to_the_later_write(
    local_at: datetime, remote_at: datetime, winner: str
) -> None:
    """A field edited differently on both sides goes to the later write, in either order."""
    update = _conflict_plan(local_at=local_at, remote_at=remote_at)
    [conflict] = update.conflicts
    assert (conflict.field, conflict.base) == ("description", "Buy milk")
    assert (conflict.local, conflict.remote, conflict.winner) == (
        "Local text",
        "Remote text",
        winner,
    )
    if winner == "local":
        assert (update.push, update.pull) == ({"description": "Local text"}, {})
    else:
        assert (update.push, update.pull) == ({}, {"description": "Remote text"})


def test_conflict_on_an_exact_millisecond_tie_goes_to_remote() -> None:
    """Writes at the same millisecond (microseconds apart) tie, and the remote side wins."""
    update = _conflict_plan(local_at=T0 + timedelta(microseconds=900), remote_at=T0)
    assert [c.winner for c in update.conflicts] == ["remote"]
    assert update.pull == {"description": "Remote text"}


def _rename_conflict(*, bumped_by: RemoteItem) -> act.Update:
    """The list renamed on both sides; the local rename at T0 + 5 s, and the remote list's
    `updated_at` at T0 + 9 s, which is also `bumped_by`'s."""
    later = T0 + timedelta(seconds=9)
    remote = _remote_a("Remote name", items=(bumped_by, _a2()), updated_at=later)
    local = local_list(1, "Local name", updated_at=T0 + timedelta(seconds=5))
    return next(a for a in _plan([remote], [local]).actions if isinstance(a, act.Update))


def test_a_list_time_that_is_an_edited_items_says_nothing_of_the_list() -> None:
    """When the list's time equals that of its newest item, edited remotely since the last
    agreement, the list's edit time is unknown: the local rename (whose time is known) wins,
    and the conflict is recorded for review."""
    edited = _a1("Buy oat milk", updated_at=T0 + timedelta(seconds=9))
    update = _rename_conflict(bumped_by=edited)
    [conflict] = update.conflicts
    assert (conflict.field, conflict.winner) == ("name", "local")
    assert update.push == {"name": "Local name"}
    assert update.remote_updated_at == T0 + timedelta(seconds=9)  # the ledger keeps it as is


def test_a_list_time_shared_with_an_unchanged_item_is_the_lists_own() -> None:
    """An item with the same time that did not change since the last agreement tells
    nothing: the list's time stands, and the later remote rename wins."""
    unchanged = _a1(updated_at=T0 + timedelta(seconds=9))
    [conflict] = _rename_conflict(bumped_by=unchanged).conflicts
    assert conflict.winner == "remote"


@pytest.mark.parametrize("skew_s", [300.0, -300.0])
@pytest.mark.parametrize("really_later", ["local", "remote"])
def test_conflict_corrects_remote_clock_skew(skew_s: float, really_later: str) -> None:
    """With the remote clock 300 s ahead or behind, the write that really came later wins."""
    later, earlier = T0 + timedelta(seconds=10), T0
    local_at = later if really_later == "local" else earlier
    remote_true = earlier if really_later == "local" else later
    update = _conflict_plan(
        local_at=local_at, remote_at=remote_true + timedelta(seconds=skew_s), skew_s=skew_s
    )
    [conflict] = update.conflicts
    assert conflict.winner == really_later
    assert conflict.skew_s == skew_s


def test_conflict_without_remote_updated_at_goes_to_local() -> None:
    """A conflicting remote item without `updated_at` loses to the local write."""
    update = _conflict_plan(local_at=T0 - timedelta(days=365), remote_at=None)
    assert [c.winner for c in update.conflicts] == ["local"]
    assert update.push == {"description": "Local text"}
    assert update.remote_updated_at is None


# -- local tombstone, remote still there ----------------------------------------------------


def test_local_list_tombstone_with_remote_unchanged_deletes_remotely() -> None:
    """A list deleted here and untouched remotely is deleted remotely, with its items' rows."""
    result = _plan([_remote_a()], [local_list(1, deleted=True)])
    assert result.actions == [act.DeleteRemote("list", "A", "", 1, A_IDS, "deleted")]


def test_local_list_tombstone_with_remote_renamed_is_brought_back() -> None:
    """A list deleted here but renamed remotely is re-created here: the edit wins."""
    remote = _remote_a("Shopping")
    result = _plan([remote], [local_list(1, deleted=True)])
    assert result.actions == [act.CreateLocalList(remote, replaces_ledger_ids=A_IDS)]


@pytest.mark.parametrize(
    "items",
    [
        pytest.param((_a1("Buy oat milk"), _a2()), id="item-edited"),
        pytest.param((_a1(), _a2(), remote_item("a3", "Buy eggs")), id="item-added"),
    ],
)
def test_local_list_tombstone_with_remote_item_edit_is_brought_back(
    items: tuple[RemoteItem, ...],
) -> None:
    """A list deleted here whose items were edited or added remotely is kept: the edit wins."""
    remote = _remote_a(items=items)
    result = _plan([remote], [local_list(1, deleted=True)])
    assert result.actions == [act.CreateLocalList(remote, replaces_ledger_ids=A_IDS)]


def test_local_list_tombstone_with_remote_edit_under_delete_wins() -> None:
    """With `delete_wins`, a list deleted here is deleted remotely even though it was edited."""
    result = _plan(
        [_remote_a("Shopping", items=(_a1("Buy oat milk"), _a2()))],
        [local_list(1, deleted=True)],
        options=DELETE_WINS,
    )
    assert result.actions == [act.DeleteRemote("list", "A", "", 1, A_IDS, "deleted")]


def test_local_item_tombstone_with_remote_unchanged_deletes_remotely() -> None:
    """An item deleted here and untouched remotely is deleted remotely."""
    result = _plan([_remote_a()], [local_item(11, 1, deleted=True)])
    assert result.actions == [act.DeleteRemote("item", "a1", "A", 11, (2,), "deleted")]
    assert result.unchanged == 2


def test_local_item_tombstone_with_remote_edit_is_brought_back() -> None:
    """An item deleted here but edited remotely is created here again: the edit wins."""
    edited = _a1(completed=True)
    result = _plan([_remote_a(items=(edited, _a2()))], [local_item(11, 1, deleted=True)])
    assert result.actions == [act.CreateLocalItem(edited, 1, "A", (2,))]


def test_local_item_tombstone_with_remote_edit_under_delete_wins() -> None:
    """With `delete_wins`, an item deleted here is deleted remotely even though it was edited."""
    result = _plan(
        [_remote_a(items=(_a1(completed=True), _a2()))],
        [local_item(11, 1, deleted=True)],
        options=DELETE_WINS,
    )
    assert result.actions == [act.DeleteRemote("item", "a1", "A", 11, (2,), "deleted")]


# -- mapped list missing remotely ---------------------------------------------------------


def test_remote_missing_list_unchanged_here_is_deleted_here() -> None:
    """A mapped list gone remotely and untouched here is deleted here, with its items' rows."""
    result = _plan([remote_list("Z", "Other")], ledger=LEDGER)
    deletes = [a for a in result.actions if isinstance(a, act.DeleteLocal)]
    assert deletes == [act.DeleteLocal("list", 1, "A", A_IDS, LIST_A.local_version)]


@pytest.mark.parametrize(
    "local",
    [
        pytest.param([local_list(1, "Shopping")], id="list-renamed"),
        pytest.param([local_item(12, 1, completed=True)], id="item-edited"),
        pytest.param([local_item(13, 1, "Buy eggs")], id="item-added"),
    ],
)
def test_remote_missing_list_edited_here_is_created_again(local: list[LocalRow]) -> None:
    """A list gone remotely but edited here (itself or an item) is POSTed again: the edit wins."""
    result = _plan([remote_list("Z", "Other")], local)
    lists = [a for a in result.actions if a.kind == "list" and a.side == "remote"]
    assert lists == [act.CreateRemoteList(1, A_IDS)]
    assert [a for a in result.actions if a.kind == "item"] == []  # the POST carries the items


def test_remote_missing_list_with_only_an_item_tombstone_is_deleted_here() -> None:
    """A deleted item is no edit: a list gone remotely with only that change is deleted here."""
    result = _plan([remote_list("Z", "Other")], [local_item(12, 1, deleted=True)])
    assert act.DeleteLocal("list", 1, "A", A_IDS, 1) in result.actions


def test_remote_missing_list_edited_here_under_delete_wins() -> None:
    """With `delete_wins`, a list gone remotely is deleted here even though it was edited."""
    result = _plan(
        [remote_list("Z", "Other")],
        [local_list(1, "Shopping", version=4), local_item(13, 1, "Buy eggs")],
        options=DELETE_WINS,
    )
    assert act.DeleteLocal("list", 1, "A", A_IDS, 4) in result.actions
    assert [a for a in result.actions if a.kind == "item" or a.side == "remote"] == []


def test_remote_missing_list_with_local_tombstone_is_forgotten() -> None:
    """A list gone on both sides leaves only its ledger rows, which are forgotten."""
    result = _plan([remote_list("Z", "Other")], [local_list(1, deleted=True)])
    assert act.Forget("list", 1, A_IDS) in result.actions
    assert not result.destructive


# -- deletion detection guards ------------------------------------------------------------


def test_incomplete_pull_detects_no_deletions() -> None:
    """After an incomplete pull, lists and items missing remotely are neither deleted nor
    forgotten nor re-created."""
    list_b = ledger_list(4, local_id=2, external_id="B")
    result = _plan(
        [_remote_a(items=(_a1(),))],
        [local_item(12, 1, "Buy rye bread")],  # edited here, so edit-wins would re-create it
        [*LEDGER, list_b],
        complete=False,
    )
    assert result.actions == []


def test_incomplete_pull_with_local_tombstone_of_missing_list_does_nothing() -> None:
    """After an incomplete pull, a list deleted here and absent from the pull is not forgotten."""
    result = _plan([remote_list("Z", "Other")], [local_list(1, deleted=True)], complete=False)
    assert result.actions == [act.CreateLocalList(remote_list("Z", "Other"))]


def test_quarantined_list_is_never_deleted() -> None:
    """A mapped list that came back invalid is neither deleted here nor forgotten."""
    result = _plan([remote_list("Z", "Other")], invalid=[invalid("list", "A")])
    assert result.actions == [act.CreateLocalList(remote_list("Z", "Other"))]


def test_invalid_list_without_id_blocks_list_deletions() -> None:
    """A list that came back without a usable id could be any missing list: none is deleted."""
    result = _plan([remote_list("Z", "Other")], invalid=[invalid("list", None)])
    assert result.actions == [act.CreateLocalList(remote_list("Z", "Other"))]


def test_quarantined_item_is_never_deleted() -> None:
    """A mapped item that came back invalid is not deleted here."""
    result = _plan(
        [_remote_a(items=(_a1(),))], invalid=[invalid("item", "a2", list_external_id="A")]
    )
    assert result.actions == []


def test_quarantined_item_does_not_block_other_item_deletions() -> None:
    """A quarantined item with an id protects only itself: others gone remotely are deleted."""
    result = _plan([_remote_a(items=())], invalid=[invalid("item", "a2", list_external_id="A")])
    assert result.actions == [act.DeleteLocal("item", 11, "a1", (2,), 1)]


def test_invalid_item_without_id_blocks_item_deletions_in_its_list_only() -> None:
    """An item without a usable id stops item deletions in its own list, not in others."""
    list_b = ledger_list(4, local_id=2, external_id="B")
    item_b1 = ledger_item(5, local_id=21, list_local_id=2, list_external_id="B", external_id="b1")
    result = _plan(
        [_remote_a(items=(_a1(),)), remote_list("B")],
        ledger=[*LEDGER, list_b, item_b1],
        invalid=[invalid("item", None, list_external_id="A")],
    )
    assert result.actions == [act.DeleteLocal("item", 21, "b1", (5,), 1)]


def test_quarantined_items_do_not_stop_other_lists() -> None:
    """Quarantined data in one list does not hold back changes elsewhere."""
    list_b = ledger_list(4, local_id=2, external_id="B")
    result = _plan(
        [remote_list("B", "Renamed")],
        ledger=[*LEDGER, list_b],
        invalid=[invalid("list", "A")],
    )
    update = _update(result)
    assert (update.external_id, update.pull) == ("B", {"name": "Renamed"})


# -- unmapped remote lists ----------------------------------------------------------------


def test_new_remote_list_is_created_here_with_its_items() -> None:
    """A remote list unknown to the ledger is one CreateLocalList, which carries its items."""
    new = remote_list("N", "Hardware", items=(remote_item("n1", "Nails"),))
    result = _plan([new], ledger=[])
    assert result.actions == [act.CreateLocalList(new)]


def test_remote_copy_of_an_unmapped_local_list_is_adopted() -> None:
    """A remote list carrying the uid of an unmapped local list is adopted, never created again,
    with the differing local fields pushed."""
    remote = remote_list("N", "Hardware", source_id=list_uid(5))
    result = _plan([remote], [local_list(5, "Hardware store", version=3)], ledger=[])
    assert result.actions == [
        act.Adopt(
            kind="list",
            local_id=5,
            local_uid=list_uid(5),
            local_version=3,
            external_id="N",
            parent_external_id="",
            parent_local_id=None,
            agreed={"name": "Hardware store"},
            push={"name": "Hardware store"},
            remote_updated_at=T0,
        )
    ]


def test_adopted_list_items_are_adopted_or_created_in_the_item_phase() -> None:
    """In an adopted list, an item carrying a local uid is adopted and an unknown one created."""
    nails = remote_item("n1", "Nails", source_id=item_uid(51))
    screws = remote_item("n2", "Screws")
    remote = remote_list("N", "Hardware", source_id=list_uid(5), items=(nails, screws))
    local = [local_list(5, "Hardware"), local_item(51, 5, "Nails", completed=True)]
    result = _plan([remote], local, ledger=[])
    list_adopt, item_adopt, create = result.actions
    assert isinstance(list_adopt, act.Adopt)
    assert (list_adopt.kind, list_adopt.push) == ("list", {})
    assert item_adopt == act.Adopt(
        kind="item",
        local_id=51,
        local_uid=item_uid(51),
        local_version=2,
        external_id="n1",
        parent_external_id="N",
        parent_local_id=5,
        agreed={"description": "Nails", "completed": True},
        push={"completed": True},
        remote_updated_at=T0,
    )
    assert create == act.CreateLocalItem(screws, 5, "N")


def test_local_item_missing_from_an_adopted_list_waits() -> None:
    """A new local item absent from the adopted copy waits until its list is mapped."""
    remote = remote_list("N", "Hardware", source_id=list_uid(5))
    result = _plan([remote], [local_list(5, "Hardware"), local_item(52, 5, "Glue")], ledger=[])
    assert [type(a) for a in result.actions] == [act.Adopt]


def test_remote_copy_of_an_unmapped_local_tombstone_is_deleted() -> None:
    """A remote list carrying the uid of a list deleted here before its create was recorded is
    deleted remotely."""
    remote = remote_list("N", "Hardware", source_id=list_uid(5))
    result = _plan([remote], [local_list(5, "Hardware", deleted=True)], ledger=[])
    assert result.actions == [act.DeleteRemote("list", "N", "", None, (), "deleted")]


def test_remote_copy_of_a_mapped_list_is_a_duplicate() -> None:
    """A second remote list carrying the uid of an already mapped list is deleted as duplicate."""
    copy = remote_list("A2", "Groceries", source_id=list_uid(1))
    result = _plan([_remote_a(), copy])
    assert result.actions == [act.DeleteRemote("list", "A2", "", None, (), "duplicate")]
    assert not result.destructive


def test_two_remote_copies_of_one_local_list_adopt_one_and_delete_the_other() -> None:
    """Two unmapped remote copies of one local list: the first is adopted, the other deleted."""
    first = remote_list("N1", "Hardware", source_id=list_uid(5))
    second = remote_list("N2", "Hardware", source_id=list_uid(5))
    result = _plan([second, first], [local_list(5, "Hardware")], ledger=[])
    adopts = [a for a in result.actions if isinstance(a, act.Adopt)]
    deletes = [a for a in result.actions if isinstance(a, act.DeleteRemote)]
    assert [a.external_id for a in adopts] == ["N1"]
    assert deletes == [act.DeleteRemote("list", "N2", "", None, (), "duplicate")]
    assert len(result.actions) == 2


def test_remote_copy_of_a_mapped_item_is_a_duplicate() -> None:
    """A second remote item carrying the uid of an already mapped item is deleted as duplicate."""
    copy = remote_item("a9", source_id=item_uid(11))
    result = _plan([_remote_a(items=(_a1(), _a2(), copy))])
    assert result.actions == [act.DeleteRemote("item", "a9", "A", None, (), "duplicate")]


def test_remote_copy_of_an_unmapped_item_tombstone_is_deleted() -> None:
    """A remote item carrying the uid of an item deleted here before its create was recorded is
    deleted remotely."""
    copy = remote_item("a3", "Buy eggs", source_id=item_uid(13))
    result = _plan([_remote_a(items=(_a1(), _a2(), copy))], [local_item(13, 1, deleted=True)])
    assert result.actions == [act.DeleteRemote("item", "a3", "A", 13, (), "deleted")]


def test_remote_copy_of_an_unmapped_local_item_is_adopted() -> None:
    """A remote item carrying the uid of an unmapped local item of that list is adopted."""
    copy = remote_item("a3", "Buy eggs", source_id=item_uid(13))
    result = _plan(
        [_remote_a(items=(_a1(), _a2(), copy))],
        [local_item(13, 1, "Buy eggs")],
        options=ITEM_CREATE,
    )
    adopt = _single(result)
    assert isinstance(adopt, act.Adopt)
    assert (adopt.kind, adopt.local_id, adopt.external_id, adopt.push) == ("item", 13, "a3", {})


def test_an_adoption_with_a_base_takes_each_sides_own_edit() -> None:
    """With what the lost create sent as base, a field edited only here is pushed and one
    edited only there is pulled, though the remote copy was edited later; without a base the
    later side takes both."""
    copy = remote_item(
        "a3", "Buy eggs", completed=True, source_id=item_uid(13), updated_at=T0 + timedelta(1)
    )
    local = [local_item(13, 1, "Buy 6 eggs", completed=False)]
    sent: Fields = {"description": "Buy eggs", "completed": False}

    based = _single(
        _plan(
            [_remote_a(items=(_a1(), _a2(), copy))],
            local,
            options=ITEM_CREATE,
            adopt_bases={item_uid(13): sent},
        )
    )
    unbased = _single(_plan([_remote_a(items=(_a1(), _a2(), copy))], local, options=ITEM_CREATE))

    assert isinstance(based, act.Adopt)
    assert isinstance(unbased, act.Adopt)
    assert (based.push, based.pull) == ({"description": "Buy 6 eggs"}, {"completed": True})
    assert (unbased.push, unbased.pull) == ({}, {"description": "Buy eggs", "completed": True})


# -- local-only lists ---------------------------------------------------------------------


def test_new_local_list_is_one_post_with_its_items() -> None:
    """A new local list with items is one CreateRemoteList and no separate item action."""
    local = [local_list(5, "Hardware"), local_item(51, 5, "Nails"), local_item(52, 5, "Glue")]
    result = _plan([_remote_a()], local)
    assert result.actions == [act.CreateRemoteList(5)]


def test_local_tombstone_never_synced_needs_nothing() -> None:
    """A list (and its item) created and deleted here between two runs needs no action."""
    local = [local_list(5, deleted=True), local_item(51, 5, deleted=True)]
    result = _plan([_remote_a()], local)
    assert result.actions == []


def test_local_item_tombstone_never_synced_needs_nothing() -> None:
    """An item created and deleted here in a mapped list between two runs needs no action."""
    result = _plan([_remote_a()], [local_item(13, 1, deleted=True)])
    assert result.actions == []


# -- re-create intents --------------------------------------------------------------------


def _recreate_ledger() -> list[LedgerRow]:
    row = ledger_list(
        1, local_id=1, external_id="A", intent="recreate", intent_data={"old_external_id": "A"}
    )
    return [row, ITEM_A1, ITEM_A2]


def _landed(list_id: str) -> RemoteList:
    return remote_list(
        list_id,
        source_id=list_uid(1),
        items=(
            remote_item(f"{list_id}1", source_id=item_uid(11)),
            remote_item(f"{list_id}2", "Buy bread", source_id=item_uid(12)),
            remote_item(f"{list_id}3", "Buy eggs", source_id=item_uid(13)),
        ),
    )


def test_landed_recreate_is_finished() -> None:
    """A re-create whose POST landed unrecorded is finished: remap to the landed copy, no new
    POST, nothing else planned for either copy."""
    landed = _landed("B")
    result = _plan(
        [_remote_a(), landed], [local_item(13, 1, "Buy eggs")], ledger=_recreate_ledger()
    )
    assert result.actions == [
        act.RecreateRemoteList(
            local_id=1, ledger_id=1, old_external_id="A", new_item_ids=(), landed=landed
        )
    ]


def test_landed_recreate_is_not_mistaken_for_a_duplicate() -> None:
    """When the old copy also carries the local uid, the landed copy is still remapped, never
    deleted as a duplicate of it."""
    landed = _landed("B")
    old = _remote_a(source_id=list_uid(1))
    result = _plan(
        [old, landed],
        [local_list(1, version=5), local_item(13, 1, "Buy eggs")],
        ledger=_recreate_ledger(),
    )
    assert result.actions == [
        act.RecreateRemoteList(
            local_id=1, ledger_id=1, old_external_id="A", new_item_ids=(), landed=landed
        )
    ]


def test_recreate_that_landed_twice_keeps_the_first_copy() -> None:
    """A re-create that landed twice remaps to the first copy and deletes the other once."""
    first, second = _landed("B"), _landed("C")
    result = _plan(
        [_remote_a(), second, first], [local_list(1, version=5)], ledger=_recreate_ledger()
    )
    assert result.actions == [
        act.RecreateRemoteList(
            local_id=1, ledger_id=1, old_external_id="A", new_item_ids=(), landed=first
        ),
        act.DeleteRemote("list", "C", "", None, (), "duplicate"),
    ]


def test_recreate_that_never_landed_is_planned_again() -> None:
    """A re-create intent with no landed copy leaves the list planned as usual."""
    result = _plan([_remote_a()], [local_item(13, 1, "Buy eggs")], ledger=_recreate_ledger())
    assert result.actions == [
        act.RecreateRemoteList(local_id=1, ledger_id=1, old_external_id="A", new_item_ids=(13,))
    ]


def test_old_copy_of_a_recreated_list_is_deleted_as_replaced() -> None:
    """After a remap, the old remote copy still in the pull is deleted, never imported."""
    row = ledger_list(
        1, local_id=1, external_id="B", intent="delete_old", intent_data={"old_external_id": "A"}
    )
    result = _plan([_remote_a(source_id=list_uid(1)), remote_list("B")], ledger=[row])
    assert result.actions == [act.DeleteRemote("list", "A", "", 1, (), "replaced")]
    assert not result.destructive
    assert result.unchanged == 1


# -- items of mapped lists ----------------------------------------------------------------


def test_new_remote_item_is_created_here() -> None:
    """An unknown remote item in a mapped list is created here in that list."""
    eggs = remote_item("a3", "Buy eggs")
    result = _plan([_remote_a(items=(_a1(), _a2(), eggs))])
    assert result.actions == [act.CreateLocalItem(eggs, 1, "A")]


def test_new_local_items_recreate_the_list_by_default() -> None:
    """New local items in a mapped list re-create the list once, with all of them."""
    local = [local_item(14, 1, "Buy jam"), local_item(13, 1, "Buy eggs")]
    result = _plan([_remote_a()], local)
    assert result.actions == [
        act.RecreateRemoteList(local_id=1, ledger_id=1, old_external_id="A", new_item_ids=(13, 14))
    ]


def test_new_local_item_uses_item_create_when_offered() -> None:
    """With the item-create extension, a new local item is one CreateRemoteItem."""
    result = _plan([_remote_a()], [local_item(13, 1, "Buy eggs")], options=ITEM_CREATE)
    assert result.actions == [act.CreateRemoteItem(13, 1, "A")]


def test_new_local_item_is_held_under_hold_strategy() -> None:
    """With the `hold` strategy, a new local item in a mapped list is held and reported."""
    result = _plan([_remote_a()], [local_item(13, 1, "Buy eggs")], options=HOLD)
    action = _single(result)
    assert isinstance(action, act.Hold)
    assert (action.kind, action.local_id) == ("item", 13)


def test_remote_missing_item_unchanged_here_is_deleted_here() -> None:
    """A mapped item gone remotely and untouched here is deleted here."""
    result = _plan([_remote_a(items=(_a1(),))])
    assert result.actions == [act.DeleteLocal("item", 12, "a2", (3,), ITEM_A2.local_version)]


def test_remote_missing_item_edited_here_recreates_the_list() -> None:
    """An item gone remotely but edited here is sent again, by default in a list re-create."""
    result = _plan([_remote_a(items=(_a1(),))], [local_item(12, 1, "Buy rye bread")])
    assert result.actions == [
        act.RecreateRemoteList(local_id=1, ledger_id=1, old_external_id="A", new_item_ids=(12,))
    ]


def test_remote_missing_item_edited_here_with_item_create() -> None:
    """With the item-create extension, an item gone remotely but edited here is POSTed again,
    replacing its ledger row."""
    result = _plan(
        [_remote_a(items=(_a1(),))], [local_item(12, 1, "Buy rye bread")], options=ITEM_CREATE
    )
    assert result.actions == [act.CreateRemoteItem(12, 1, "A", (3,))]


def test_remote_missing_item_edited_here_under_delete_wins() -> None:
    """With `delete_wins`, an item gone remotely is deleted here even though it was edited."""
    result = _plan(
        [_remote_a(items=(_a1(),))],
        [local_item(12, 1, "Buy rye bread", version=6)],
        options=DELETE_WINS,
    )
    assert result.actions == [act.DeleteLocal("item", 12, "a2", (3,), 6)]


def test_remote_missing_item_with_local_tombstone_is_forgotten() -> None:
    """An item gone on both sides is forgotten."""
    result = _plan([_remote_a(items=(_a1(),))], [local_item(12, 1, deleted=True)])
    assert result.actions == [act.Forget("item", 12, (3,))]


def test_local_item_of_an_unmapped_list_waits() -> None:
    """A new local item whose list is neither mapped nor being created waits for a later run."""
    result = _plan([_remote_a()], [local_item(90, 9, "Orphan")])
    assert result.actions == []


def test_new_local_item_in_a_list_deleted_here_needs_nothing() -> None:
    """A new item in a mapped list being deleted remotely adds no item action."""
    result = _plan([_remote_a()], [local_list(1, deleted=True), local_item(13, 1, "Buy eggs")])
    assert result.actions == [act.DeleteRemote("list", "A", "", 1, A_IDS, "deleted")]


def test_same_item_ids_in_two_lists_are_distinct() -> None:
    """Items sharing an external id in two lists are matched within their own list only."""
    list_b = ledger_list(4, local_id=2, external_id="B", name="Hardware")
    item_b1 = ledger_item(
        5, local_id=21, list_local_id=2, list_external_id="B", external_id="a1", description="Nails"
    )
    result = _plan(
        [_remote_a(), remote_list("B", "Hardware", items=(remote_item("a1", "Screws"),))],
        ledger=[*LEDGER, list_b, item_b1],
    )
    update = _update(result)
    assert (update.ledger_id, update.local_id, update.parent_external_id) == (5, 21, "B")
    assert update.pull == {"description": "Screws"}
    assert result.unchanged == 4


# -- mass-delete guard --------------------------------------------------------------------


def _lists(count: int) -> list[LedgerRow]:
    return [ledger_list(i, local_id=i, external_id=f"L{i}") for i in range(1, count + 1)]


def _remotes(ids: range) -> list[RemoteList]:
    return [remote_list(f"L{i}") for i in ids]


def test_empty_pull_while_entities_are_mapped_is_held() -> None:
    """An empty pull while the ledger maps entities holds the plan."""
    result = _plan([], ledger=LEDGER)
    assert result.held_reason is not None
    assert "no lists" in result.held_reason


def test_empty_pull_with_an_empty_ledger_is_not_held() -> None:
    """An empty pull with nothing mapped is simply nothing to do."""
    result = _plan([], ledger=[])
    assert (result.actions, result.held_reason) == ([], None)


def test_empty_narrowed_pull_is_not_held_when_the_whole_pull_had_lists() -> None:
    """A pull narrowed to one list counts the whole pull, not the narrowed one, as its size."""
    result = _plan([], ledger=[LIST_A], pulled_lists=4)
    assert result.held_reason is None


def test_mass_local_delete_is_held() -> None:
    """Eleven of twelve mapped lists gone remotely (>= 10 and > 50 %) holds the plan."""
    result = _plan(_remotes(range(12, 13)), ledger=_lists(12))
    assert len(result.destructive) == 11
    assert result.held_reason is not None
    assert "local side" in result.held_reason


def test_mass_remote_delete_is_held() -> None:
    """Eleven of twelve mapped lists deleted here holds the plan."""
    local = [local_list(i, deleted=True) for i in range(1, 12)]
    result = _plan(_remotes(range(1, 13)), local, _lists(12))
    assert len(result.destructive) == 11
    assert result.held_reason is not None
    assert "remote side" in result.held_reason


def test_mass_delete_counts_items_of_deleted_lists() -> None:
    """A list deletion counts its items too: one list with ten items is a mass delete."""
    items = [
        ledger_item(
            100 + i, local_id=100 + i, list_local_id=1, list_external_id="L1", external_id=f"i{i}"
        )
        for i in range(10)
    ]
    result = _plan(_remotes(range(2, 4)), ledger=[*_lists(3), *items])
    assert len(result.destructive) == 1
    assert result.held_reason is not None


def test_many_deletes_within_the_percentage_are_not_held() -> None:
    """Ten of thirty mapped lists gone remotely is at the minimum but under 50 %: applied."""
    result = _plan(_remotes(range(11, 31)), ledger=_lists(30))
    assert len(result.destructive) == 10
    assert result.held_reason is None


def test_half_exactly_is_not_more_than_half() -> None:
    """Ten of twenty mapped lists deleted is exactly 50 %, which is not more than 50 %."""
    result = _plan(_remotes(range(11, 21)), ledger=_lists(20))
    assert len(result.destructive) == 10
    assert result.held_reason is None


def test_few_deletes_above_the_percentage_are_not_held() -> None:
    """Three of four mapped lists gone remotely is over 50 % but under the minimum: applied."""
    result = _plan(_remotes(range(4, 5)), ledger=_lists(4))
    assert len(result.destructive) == 3
    assert result.held_reason is None


def test_single_delete_is_not_held() -> None:
    """One deletion is never a mass delete."""
    result = _plan([_remote_a(items=(_a1(),))])
    assert len(result.destructive) == 1
    assert result.held_reason is None


def test_custom_mass_delete_limits_apply() -> None:
    """The minimum and percentage come from the options."""
    options = plan.PlanOptions(mass_delete_min=2, mass_delete_percent=10.0)
    result = _plan([_remote_a(items=())], options=options)
    assert len(result.destructive) == 2
    assert result.held_reason is not None


# -- ordering -----------------------------------------------------------------------------


def test_actions_are_ordered_lists_local_items_remote_items_recreates() -> None:
    """Lists come first, then local item writes, then remote item writes, re-creates last."""
    list_b = ledger_list(4, local_id=2, external_id="B")
    item_b1 = ledger_item(5, local_id=21, list_local_id=2, list_external_id="B", external_id="b1")
    remote = [
        _remote_a("Shopping", items=(_a1(), _a2(), remote_item("a3", "Buy eggs"))),
        remote_list("B", items=(remote_item("b1"),)),
    ]
    local = [
        local_item(11, 1, deleted=True),  # remote item write: delete a1
        local_item(22, 2, "Glue"),  # re-create of list B
        local_list(5, "New"),  # list write: create remotely
    ]
    result = _plan(remote, local, [*LEDGER, list_b, item_b1])
    assert [type(a) for a in result.actions] == [
        act.Update,  # list A renamed remotely
        act.CreateRemoteList,
        act.CreateLocalItem,
        act.DeleteRemote,
        act.RecreateRemoteList,
    ]
    assert [a.kind for a in result.actions] == ["list", "list", "item", "item", "list"]
