"""The group-commit writer of the push path (`sync.apply.outcomes`), over the real database
and real runs against the fake: answered calls are committed in batches, the tally counts only
what committed, a batch the database refuses is committed again call by call, and leaving the
writer commits everything queued."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.fixtures.refuse import inserts_refused
from tests.sync.conftest import RunSync
from tests.sync.harness import LocalSide, remote_snapshot
from todosync import config
from todosync.clock import utc_now
from todosync.external.client import ExternalClient
from todosync.store.models import DEFAULT_TENANT_ID
from todosync.sync.apply import outcomes
from todosync.sync.apply.executor import Executor
from todosync.sync.books import runs
from todosync.sync.books.models import SyncLog, SyncState
from todosync.sync.books.report import Tally
from todosync.sync.books.run_status import RunStatus
from todosync.sync.core import actions as act

CONNECTION_ID = 1


@contextmanager
def counted_commits(engine: AsyncEngine) -> Iterator[list[int]]:
    """One entry per transaction committed on `engine` inside the block."""
    commits: list[int] = []

    def record(_connection: Any) -> None:
        commits.append(1)

    sa.event.listen(engine.sync_engine, "commit", record)
    try:
        yield commits
    finally:
        sa.event.remove(engine.sync_engine, "commit", record)


@pytest.fixture
async def executor(
    sessionmaker: async_sessionmaker[AsyncSession], sync_settings: config.Settings
) -> AsyncIterator[Executor]:
    """An executor for a fresh run (its tally, its writer, its guard), as the engine makes it."""
    async with sessionmaker.begin() as session:
        run = await runs.create_run(
            session, connection_id=CONNECTION_ID, trigger="manual", status=RunStatus.RUNNING
        )
        run_id = run.id
    tally = Tally(CONNECTION_ID, run_id, utc_now)
    async with ExternalClient.from_settings(sync_settings) as client:
        yield Executor(
            sessionmaker=sessionmaker,
            client=client,
            connection_id=CONNECTION_ID,
            tenant_id=DEFAULT_TENANT_ID,
            tally=tally,
            concurrency=8,
        )


def _books(executor: Executor, **kwargs: Any) -> outcomes.Books:
    return outcomes.Books(
        transaction=executor.remote.transaction,
        tally=executor.tally,
        guard=executor.guard,
        **kwargs,
    )


def _created(executor: Executor, list_id: int, uid: str) -> outcomes.Outcome:
    """The outcome of a POSTed list (no items): its ledger row, its count and log entry."""

    async def write(session: AsyncSession, tally: Tally) -> None:
        tally.count("remote", "create")
        tally.log(kind="list", action="create", side="remote", local_id=list_id)

    ledger_row = {
        "connection_id": CONNECTION_ID,
        "kind": "list",
        "local_id": list_id,
        "local_uid": uid,
        "external_id": f"ext-{list_id}",
        "parent_external_id": "",
        "parent_local_id": None,
        "snapshot": '{"name":"x"}',
        "content_hash": "0" * 32,
        "local_version": 1,
        "remote_updated_at": None,
        "synced_at": executor.tally.clock(),
        "intent": None,
        "items_digest": None,
    }
    return outcomes.Outcome(act.CreateRemoteList(list_id), write, [ledger_row])


async def _lists(local: LocalSide, count: int) -> list[tuple[int, str]]:
    ids = [await local.create_list(f"List {i}") for i in range(count)]
    async with local.sessionmaker() as session:
        result = await session.execute(
            sa.text("SELECT id, uid FROM todo_lists WHERE id IN :ids ORDER BY id").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
        return [(id_, uid) for id_, uid in result]


async def _ledger_local_ids(sessionmaker: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessionmaker() as session:
        return set((await session.scalars(sa.select(SyncState.local_id))).all())


async def test_queued_outcomes_commit_in_one_transaction(
    executor: Executor, local: LocalSide, engine: AsyncEngine
) -> None:
    """Ten outcomes queued while the writer was busy commit as one batch: one transaction,
    ten ledger rows, ten log entries, ten creates in the tally."""
    lists = await _lists(local, 10)
    made = [_created(executor, id_, uid) for id_, uid in lists]
    with counted_commits(engine) as commits:
        async with _books(executor) as books:
            for outcome in made:
                await books.put(outcome)
    assert (len(commits), books.commits) == (1, 1)
    assert await _ledger_local_ids(local.sessionmaker) == {id_ for id_, _ in lists}
    assert executor.tally.counts["remote"]["created"] == 10
    async with local.sessionmaker() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(SyncLog)) == 10


async def test_the_tally_counts_only_committed_work(executor: Executor, local: LocalSide) -> None:
    """While a batch's transaction is open, nothing of it is in the tally; once it commits,
    all of it is."""
    ((list_id, uid),) = await _lists(local, 1)
    made = _created(executor, list_id, uid)
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow_write(session: AsyncSession, tally: Tally) -> None:
        await made.write(session, tally)
        inside.set()
        await release.wait()

    async with _books(executor) as books:
        await books.put(outcomes.Outcome(made.action, slow_write, made.rows))
        await inside.wait()
        assert executor.tally.counts["remote"]["created"] == 0
        release.set()
    assert executor.tally.counts["remote"]["created"] == 1


async def test_a_refused_batch_falls_back_to_one_commit_per_call(
    executor: Executor,
    local: LocalSide,
    blocking_engine: sa.Engine,
    is_postgres: bool,
) -> None:
    """The database refuses one entity's ledger row: the batch rolls back, the other
    entities are committed one by one with their bookkeeping, and the bad one is recorded
    as a failed action (error, log entry, back-off), not lost silently."""
    lists = await _lists(local, 4)
    bad_id = lists[2][0]
    made = [_created(executor, id_, uid) for id_, uid in lists]
    refused = f"NEW.local_id = {bad_id} AND NEW.kind = 'list'"
    with inserts_refused(
        blocking_engine, table="sync_state", is_postgres=is_postgres, when=refused
    ):
        async with _books(executor) as books:
            for outcome in made:
                await books.put(outcome)
    assert books.commits == 3  # the batch failed; three of four alone
    assert await _ledger_local_ids(local.sessionmaker) == {id_ for id_, _ in lists} - {bad_id}
    tally = executor.tally
    assert tally.counts["remote"]["created"] == 3
    assert tally.counts["failed"] == 1
    assert [(act.describe(a)["local_id"], counted) for a, _, counted in tally.failures] == [
        (bad_id, True)
    ]
    assert [e["entity"] for e in tally.errors] == [f"list:{bad_id}"]
    assert tally.errors[0]["reason"].startswith("internal error")


async def test_leaving_the_writer_commits_everything_queued(
    executor: Executor, local: LocalSide
) -> None:
    """More outcomes than the queue holds, the last ones put just before the phase ends:
    all are committed when `async with` is left, and the writer task is gone."""
    lists = await _lists(local, 12)
    async with _books(executor, queue_size=2, batch_rows=4) as books:
        for id_, uid in lists:
            await books.put(_created(executor, id_, uid))
    assert await _ledger_local_ids(local.sessionmaker) == {id_ for id_, _ in lists}
    assert executor.tally.counts["remote"]["created"] == 12
    assert books.commits >= 3  # batches of at most four rows' weight
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "todosync-books"]


async def test_a_cancelled_phase_still_commits_what_was_answered(
    executor: Executor, local: LocalSide
) -> None:
    """A phase cancelled with outcomes queued (its calls answered) commits them before the
    cancellation goes through: none of those calls loses its bookkeeping."""
    lists = await _lists(local, 3)
    queued = asyncio.Event()

    async def phase() -> None:
        async with _books(executor) as books:
            for id_, uid in lists:
                await books.put(_created(executor, id_, uid))
            queued.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(phase())
    await queued.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _ledger_local_ids(local.sessionmaker) == {id_ for id_, _ in lists}
    assert executor.tally.counts["remote"]["created"] == 3
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "todosync-books"]


async def test_cancelling_a_stuck_drain_cancels_the_writer(
    executor: Executor, local: LocalSide
) -> None:
    """A phase cancelled while its writer hangs in a transaction waits for the drain; a
    second cancellation cancels the writer: its transaction rolls back, nothing is counted,
    and no writer task is left behind."""
    ((list_id, uid),) = await _lists(local, 1)
    made = _created(executor, list_id, uid)
    inside = asyncio.Event()

    async def stuck(session: AsyncSession, tally: Tally) -> None:
        inside.set()
        await asyncio.Event().wait()

    async def phase() -> None:
        async with _books(executor) as books:
            await books.put(outcomes.Outcome(made.action, stuck, made.rows))
            await asyncio.Event().wait()

    task = asyncio.create_task(phase())
    await inside.wait()
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # draining: the answered call's bookkeeping is not dropped lightly
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert executor.tally.counts["remote"]["created"] == 0
    assert await _ledger_local_ids(local.sessionmaker) == set()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "todosync-books"]


async def test_a_first_export_commits_fewer_transactions_than_calls(
    fake_external: FakeExternal, local: LocalSide, run_sync: RunSync, engine: AsyncEngine
) -> None:
    """Sixty new lists POSTed while each call takes a while: their bookkeeping commits in
    batches, far fewer transactions than calls, and both sides end equal."""
    for i in range(60):
        await local.create_list(f"List {i:02}", [f"item {i}"])
    fake_external.set_faults([FaultRule(kind="latency", methods=["POST"], latency_ms=50)])
    with counted_commits(engine) as commits:
        report = await run_sync()
    assert report.status == "ok"
    assert report.api_calls == 61
    # one per call would be 60, plus the run's own (lease, run record, local phases)
    assert len(commits) < 60
    assert remote_snapshot(fake_external.state()) == await local.snapshot()


async def test_a_refused_ledger_row_fails_one_list_and_the_next_run_adopts_it(
    fake_external: FakeExternal,
    local: LocalSide,
    run_sync: RunSync,
    blocking_engine: sa.Engine,
    is_postgres: bool,
) -> None:
    """One list's ledger row is refused after its POST: the run is partial with that list
    as its one error, the others are recorded, and the next run adopts the remote copy by
    `source_id` instead of creating it twice."""
    ids = [await local.create_list(f"List {i}", ["a", "b"]) for i in range(6)]
    refused = f"NEW.local_id = {ids[3]} AND NEW.kind = 'list'"
    no_back_off = {"entity_retry_seconds": 0.0}
    with inserts_refused(
        blocking_engine, table="sync_state", is_postgres=is_postgres, when=refused
    ):
        report = await run_sync(settings=no_back_off)
    assert report.status == "partial"
    assert [e["entity"] for e in report.errors] == [f"list:{ids[3]}"]
    assert report.counts["remote"]["created"] == 15  # five lists with their two items
    assert len(fake_external.state()) == 6  # every POST landed

    again = await run_sync(settings=no_back_off)
    assert again.status == "ok"
    assert len(fake_external.state()) == 6  # adopted, not posted again
    assert remote_snapshot(fake_external.state()) == await local.snapshot()
