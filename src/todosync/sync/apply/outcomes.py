"""The bookkeeping of answered calls, committed in groups while other calls are in flight.

A remote phase sends its calls concurrently. Each answered call leaves an `Outcome`: the local
writes it owes (ledger rows, the local half of the action, its log entry and history events).
One `Books` task per phase takes outcomes from a bounded queue and commits whatever has queued
up in one transaction (a group commit): one transaction per batch of answered calls, not per
call, written while the next calls are still on the wire.

Guarantees:
- What an outcome did reaches the run's tally only once its transaction has committed.
- A batch that fails is committed again one outcome at a time, each under the executor's
  guard: an entity the database refuses is recorded as failed (as any failing action is), and
  never costs the other entities of its batch their bookkeeping.
- Leaving `async with Books(...)` commits everything queued, also when the phase fails; if the
  phase is cancelled while draining, the writer is cancelled and awaited (no orphan task).

What a crash between a call and its commit leaves is what it left when each call had its own
transaction: a create carries the local uid as `source_id` and is adopted by the next pull, an
update is found agreed on both sides, a delete finds the entity gone (see `remote_apply`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.sync.apply import local_apply
from todosync.sync.books import ledger
from todosync.sync.books.report import Tally
from todosync.sync.core import actions as act

__all__ = ["BATCH_ROWS", "QUEUE_SIZE", "Books", "Guard", "Outcome", "Write"]

Write = Callable[[AsyncSession, Tally], Awaitable[None]]
"""An outcome's writes into a transaction, staging its counts and log entries on the tally;
run again in a fresh transaction (with a fresh tally) if its batch fails."""

Guard = Callable[[act.Action, Callable[[], Awaitable[None]]], Awaitable[None]]
"""Runs one action's step and records its failure instead of raising (`Executor.guard`)."""

# Outcomes waiting for the writer: enough to cover the calls in flight while a batch commits,
# few enough that a large POST's rows never pile up in memory.
QUEUE_SIZE = 64
# Ledger rows (and outcomes) per transaction at most, as for local batches (`executor`).
BATCH_ROWS = 2_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one answered call leaves to commit."""

    action: act.Action
    write: Write
    # new ledger rows, inserted after every outcome's `write` (which deletes the rows they
    # replace) in one bulk statement for the batch
    rows: Sequence[dict[str, Any]] = ()

    @property
    def weight(self) -> int:
        return 1 + len(self.rows)


_DONE = object()  # the phase's last outcome is queued


class Books:
    """The group-commit writer of one remote phase (an async context manager)."""

    def __init__(
        self,
        *,
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        tally: Tally,
        guard: Guard,
        queue_size: int = QUEUE_SIZE,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self._transaction = transaction
        self._tally = tally
        self._guard = guard
        self._batch_rows = batch_rows
        self._queue: asyncio.Queue[Outcome | object] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # transactions committed (batches and single outcomes)

    async def __aenter__(self) -> Books:
        self._task = asyncio.create_task(self._run(), name="todosync-books")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        try:
            if not self._task.done():
                await self._queue.put(_DONE)
            await self._task
        except BaseException:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            raise

    async def put(self, outcome: Outcome) -> None:
        """Queues an answered call's outcome; waits while the queue is full."""
        await self._queue.put(outcome)

    async def _run(self) -> None:
        done = False
        while not done:
            batch, done = await self._next_batch()
            if batch:
                await self._commit_batch(batch)

    async def _next_batch(self) -> tuple[list[Outcome], bool]:
        """The outcomes queued now (at least one, unless the phase is over), up to the cap."""
        first = await self._queue.get()
        if first is _DONE:
            return [], True
        assert isinstance(first, Outcome)
        batch, weight = [first], first.weight
        while weight < self._batch_rows and not self._queue.empty():
            queued = self._queue.get_nowait()
            if queued is _DONE:
                return batch, True
            assert isinstance(queued, Outcome)
            batch.append(queued)
            weight += queued.weight
        return batch, False

    async def _commit_batch(self, batch: Sequence[Outcome]) -> None:
        try:
            await self._commit(batch)
        except Exception:  # rolled back: commit each alone, so only the bad one fails
            for outcome in batch:
                await self._guard(outcome.action, functools.partial(self._commit, [outcome]))

    async def _commit(self, batch: Sequence[Outcome]) -> None:
        staged = self._tally.staged()
        async with self._transaction() as session:
            for outcome in batch:
                await outcome.write(session, staged)
            await ledger.insert_rows(session, [row for o in batch for row in o.rows])
            await local_apply.flush(session, staged)
        self.commits += 1
        self._tally.merge(staged)
