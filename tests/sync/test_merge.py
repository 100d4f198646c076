"""The field-level three-way merge and the last-write-wins clock comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from todosync.sync.core import merge
from todosync.sync.core.fields import Fields

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BASE: Fields = {"description": "Buy milk", "completed": False}


def _merge(
    local: Fields,
    remote: Fields,
    *,
    base: Fields = BASE,
    local_at: datetime = T0,
    remote_at: datetime | None = T0,
    skew_s: float = 0.0,
) -> merge.MergeResult:
    return merge.three_way(
        base=base,
        local=local,
        remote=remote,
        local_updated_at=local_at,
        remote_updated_at=remote_at,
        skew_s=skew_s,
    )


# -- later_side ---------------------------------------------------------------------------


def test_later_local_write_wins() -> None:
    """A local write one second after the remote one is the later."""
    side = merge.later_side(
        local_updated_at=T0 + timedelta(seconds=1), remote_updated_at=T0, skew_s=0.0
    )
    assert side == "local"


def test_later_remote_write_wins() -> None:
    """A remote write one second after the local one is the later."""
    side = merge.later_side(
        local_updated_at=T0, remote_updated_at=T0 + timedelta(seconds=1), skew_s=0.0
    )
    assert side == "remote"


def test_exact_tie_goes_to_remote() -> None:
    """Equal timestamps are a tie, and the remote side wins it."""
    assert merge.later_side(local_updated_at=T0, remote_updated_at=T0, skew_s=0.0) == "remote"


def test_tie_is_judged_at_millisecond_precision() -> None:
    """A local write later by less than a millisecond is still a tie, which remote wins."""
    side = merge.later_side(
        local_updated_at=T0 + timedelta(microseconds=999), remote_updated_at=T0, skew_s=0.0
    )
    assert side == "remote"


def test_one_millisecond_is_enough_to_win() -> None:
    """A local write one millisecond after the remote one is the later."""
    side = merge.later_side(
        local_updated_at=T0 + timedelta(milliseconds=1), remote_updated_at=T0, skew_s=0.0
    )
    assert side == "local"


@pytest.mark.parametrize("skew_s", [300.0, -300.0])
@pytest.mark.parametrize("really_later", ["local", "remote"])
def test_skew_correction_lets_the_really_later_write_win(skew_s: float, really_later: str) -> None:
    """With the remote clock 300 s off either way, the write that really came later wins."""
    # true times: one write at T0, the other 10 s later; the remote clock reads true + skew
    local_true = T0 + timedelta(seconds=10) if really_later == "local" else T0
    remote_true = T0 if really_later == "local" else T0 + timedelta(seconds=10)
    remote_read = remote_true + timedelta(seconds=skew_s)
    side = merge.later_side(
        local_updated_at=local_true, remote_updated_at=remote_read, skew_s=skew_s
    )
    assert side == really_later


def test_missing_remote_timestamp_loses() -> None:
    """A remote write without `updated_at` counts as the older one."""
    side = merge.later_side(
        local_updated_at=datetime(1970, 1, 1, tzinfo=UTC), remote_updated_at=None, skew_s=0.0
    )
    assert side == "local"


# -- three_way ----------------------------------------------------------------------------


def test_unchanged_on_both_sides_is_a_no_op() -> None:
    """Both sides equal to the base: nothing to push, nothing to pull, no conflict."""
    result = _merge(dict(BASE), dict(BASE))
    assert result == merge.MergeResult(merged=BASE)


def test_change_on_the_remote_side_only_is_pulled() -> None:
    """A field changed only remotely is pulled and nothing is pushed."""
    result = _merge(dict(BASE), {**BASE, "completed": True})
    assert result.pull == {"completed": True}
    assert result.push == {}
    assert result.merged == {"description": "Buy milk", "completed": True}
    assert result.conflicts == ()


def test_change_on_the_local_side_only_is_pushed() -> None:
    """A field changed only locally is pushed and nothing is pulled."""
    result = _merge({**BASE, "description": "Buy oat milk"}, dict(BASE))
    assert result.push == {"description": "Buy oat milk"}
    assert result.pull == {}
    assert result.conflicts == ()


def test_different_fields_changed_on_each_side_both_survive() -> None:
    """One field changed here and another there: both changes survive, without conflict."""
    result = _merge({**BASE, "description": "Buy oat milk"}, {**BASE, "completed": True})
    assert result.merged == {"description": "Buy oat milk", "completed": True}
    assert result.push == {"description": "Buy oat milk"}
    assert result.pull == {"completed": True}
    assert result.conflicts == ()


def test_same_new_value_on_both_sides_is_agreed() -> None:
    """The same change made on both sides is agreed: no write and no conflict."""
    changed = {**BASE, "description": "Buy oat milk"}
    result = _merge(dict(changed), dict(changed))
    assert result == merge.MergeResult(merged=changed)


@pytest.mark.parametrize(
    ("local_at", "remote_at", "winner"),
    [
        (T0 + timedelta(seconds=5), T0, "local"),
        (T0, T0 + timedelta(seconds=5), "remote"),
    ],
)
def test_same_field_on_both_sides_is_decided_by_the_later_write(
    local_at: datetime, remote_at: datetime, winner: merge.Side
) -> None:
    """A field changed to different values on both sides goes to the later write, recorded."""
    result = _merge(
        {**BASE, "description": "Local text"},
        {**BASE, "description": "Remote text"},
        local_at=local_at,
        remote_at=remote_at,
        skew_s=1.5,
    )
    expected = "Local text" if winner == "local" else "Remote text"
    assert result.merged["description"] == expected
    assert result.conflicts == (
        merge.FieldConflict("description", "Buy milk", "Local text", "Remote text", winner, 1.5),
    )
    if winner == "local":
        assert (result.push, result.pull) == ({"description": "Local text"}, {})
    else:
        assert (result.push, result.pull) == ({}, {"description": "Remote text"})


def test_conflict_on_an_exact_tie_goes_to_remote() -> None:
    """A conflicting field with both writes at the same millisecond takes the remote value."""
    tied = _merge(
        {**BASE, "description": "Local text"},
        {**BASE, "description": "Remote text"},
        local_at=T0 + timedelta(microseconds=400),
        remote_at=T0,
    )
    assert tied.merged["description"] == "Remote text"
    assert [c.winner for c in tied.conflicts] == ["remote"]


def test_conflict_without_remote_timestamp_goes_to_local() -> None:
    """A conflicting field whose remote side has no `updated_at` keeps the local value."""
    result = _merge(
        {**BASE, "description": "Local text"},
        {**BASE, "description": "Remote text"},
        remote_at=None,
    )
    assert result.push == {"description": "Local text"}
    assert [c.winner for c in result.conflicts] == ["local"]


def test_field_missing_from_the_base_is_merged_against_none() -> None:
    """A field absent from the base counts as changed on each side that has a value."""
    result = _merge(
        {"description": "Buy milk", "completed": True},
        {"description": "Buy milk", "completed": False},
        base={"description": "Buy milk"},
        local_at=T0 + timedelta(seconds=1),
    )
    assert result.conflicts == (merge.FieldConflict("completed", None, True, False, "local", 0.0),)


# -- properties ---------------------------------------------------------------------------

_TEXT = st.sampled_from(["", "a", "b", "Buy milk"])
_ITEM = st.fixed_dictionaries({"description": _TEXT, "completed": st.booleans()})
_TIME = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
_SKEW = st.floats(min_value=-3600, max_value=3600, allow_nan=False)


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@given(base=_ITEM, local=_ITEM, remote=_ITEM, local_at=_TIME, remote_at=_TIME, skew_s=_SKEW)
def test_merge_invariants(
    base: Fields,
    local: Fields,
    remote: Fields,
    local_at: datetime,
    remote_at: datetime,
    skew_s: float,
) -> None:
    """Merged values come from a side; pushes and pulls say exactly how each side gets there."""
    result = _merge(local, remote, base=base, local_at=local_at, remote_at=remote_at, skew_s=skew_s)
    assert result.merged.keys() == local.keys()
    for name, value in result.merged.items():
        assert value in (local[name], remote[name])
        # applying the plan brings each side to the merged value
        assert result.push.get(name, remote[name]) == value
        assert result.pull.get(name, local[name]) == value
    assert not result.push.keys() & result.pull.keys()
    for name, value in result.push.items():
        assert value != remote[name]
    for name, value in result.pull.items():
        assert value != local[name]


@given(base=_ITEM, other=_ITEM, local_at=_TIME, remote_at=_TIME)
def test_one_side_equal_to_base_yields_the_other_side(
    base: Fields, other: Fields, local_at: datetime, remote_at: datetime
) -> None:
    """When one side still equals the base, the result is the other side, without conflict."""
    pulled = _merge(dict(base), other, base=base, local_at=local_at, remote_at=remote_at)
    pushed = _merge(other, dict(base), base=base, local_at=local_at, remote_at=remote_at)
    assert pulled.merged == other
    assert pushed.merged == other
    assert pulled.conflicts == pushed.conflicts == ()
    assert pulled.push == {}
    assert pushed.pull == {}


@given(base=_ITEM, local=_ITEM, remote=_ITEM, local_at=_TIME, remote_at=_TIME)
def test_conflicts_only_where_both_sides_differ(
    base: Fields, local: Fields, remote: Fields, local_at: datetime, remote_at: datetime
) -> None:
    """A field conflicts exactly when it differs from the base on both sides and between them."""
    result = _merge(local, remote, base=base, local_at=local_at, remote_at=remote_at)
    expected = {
        name
        for name in local
        if local[name] != base[name] and remote[name] != base[name] and local[name] != remote[name]
    }
    assert {c.field for c in result.conflicts} == expected
    for conflict in result.conflicts:
        assert result.merged[conflict.field] == getattr(conflict, conflict.winner)


@given(first=_TIME, second=_TIME)
def test_winner_is_symmetric_except_on_ties(first: datetime, second: datetime) -> None:
    """Swapping the two timestamps swaps the winner, unless they tie at the millisecond."""
    assume(_ms(first) != _ms(second))
    one = merge.later_side(local_updated_at=first, remote_updated_at=second, skew_s=0.0)
    other = merge.later_side(local_updated_at=second, remote_updated_at=first, skew_s=0.0)
    assert one != other


@given(at=_TIME, skew_s=_SKEW)
def test_ties_always_go_to_remote(at: datetime, skew_s: float) -> None:
    """A remote write that, corrected for skew, lands on the local millisecond wins the tie."""
    corrected = _ms(at)
    remote_read = corrected + timedelta(seconds=skew_s)
    # only exact corrections can be tested as ties: float seconds may round a microsecond off
    assume(remote_read - timedelta(seconds=skew_s) == corrected)
    side = merge.later_side(local_updated_at=at, remote_updated_at=remote_read, skew_s=skew_s)
    assert side == "remote"
