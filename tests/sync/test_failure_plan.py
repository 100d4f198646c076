"""The planner's recovery branches, pure: a landed create edited remotely since, our own push
seen again after a local delete, and a landed re-create of a list deleted here meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tests.sync.factories import (
    T0,
    ledger_item,
    ledger_list,
    list_uid,
    local_item,
    local_list,
    remote_item,
    remote_list,
)
from todosync.external.schemas import RemoteList
from todosync.sync.core import actions as act
from todosync.sync.core import plan
from todosync.sync.core.snapshot import LedgerRow, LocalRow

LIST_A = ledger_list(1, local_id=1, external_id="A")
ITEM_A1 = ledger_item(2, local_id=11, list_local_id=1, list_external_id="A", external_id="a1")


def _plan(
    remote: Sequence[RemoteList], local: Sequence[LocalRow], ledger: Sequence[LedgerRow]
) -> list[act.Action]:
    data = plan.PlanInput(remote_lists=remote, local=local, ledger=ledger)
    return plan.build(data, plan.PlanOptions()).actions


def test_a_landed_create_edited_remotely_later_is_adopted_with_the_remote_fields() -> None:
    """No agreed base: a field that differs goes to the later write, here the remote one."""
    later = T0 + timedelta(seconds=5)
    remote = remote_list("N", "Renamed there", source_id=list_uid(5), updated_at=later)
    (adopt,) = _plan([remote], [local_list(5, "Hardware", version=1)], [])
    assert isinstance(adopt, act.Adopt)
    assert (adopt.push, adopt.pull) == ({}, {"name": "Renamed there"})
    assert adopt.agreed == {"name": "Renamed there"}


def test_a_landed_create_at_the_same_time_pushes_the_local_fields() -> None:
    """A tie (or an older remote copy) goes to the local side."""
    remote = remote_list("N", "Hardware", source_id=list_uid(5), updated_at=T0)
    (adopt,) = _plan([remote], [local_list(5, "Hardware store", version=3)], [])
    assert isinstance(adopt, act.Adopt)
    assert (adopt.push, adopt.pull) == ({"name": "Hardware store"}, {})


def test_our_own_landed_push_does_not_bring_a_deleted_list_back() -> None:
    """Renamed here (the PATCH landed unanswered), then deleted here: delete it remotely."""
    remote = remote_list("A", "Food", items=(remote_item("a1"),))
    deleted = local_list(1, "Food", version=3, deleted=True)
    item = local_item(11, 1, version=2, deleted=True)
    actions = _plan([remote], [deleted, item], [LIST_A, ITEM_A1])
    assert [(type(a), a.side) for a in actions] == [(act.DeleteRemote, "remote")]


def test_a_real_remote_edit_still_brings_a_deleted_list_back() -> None:
    """Edited remotely to another value than the local one: the edit wins."""
    remote = remote_list("A", "Edited there", items=(remote_item("a1"),))
    deleted = local_list(1, "Food", version=3, deleted=True)
    actions = _plan([remote], [deleted], [LIST_A, ITEM_A1])
    assert [type(a) for a in actions] == [act.CreateLocalList]


def test_a_landed_recreate_of_a_list_deleted_here_leaves_no_copy() -> None:
    """The re-create's new copy and the old one are both deleted remotely; nothing imported."""
    row = ledger_list(
        1,
        local_id=1,
        external_id="A",
        intent=plan.INTENT_RECREATE,
        intent_data={"old_external_id": "A"},
    )
    old = remote_list("A", items=(remote_item("a1"),))
    landed = remote_list("B", items=(remote_item("b1"),), source_id=list_uid(1))
    deleted = local_list(1, version=3, deleted=True)
    actions = _plan([old, landed], [deleted], [row, ITEM_A1])
    deletes = sorted((a.external_id, a.reason) for a in actions if isinstance(a, act.DeleteRemote))
    assert deletes == [("A", "deleted"), ("B", "duplicate")]
    assert not [a for a in actions if isinstance(a, act.CreateLocalList)]
