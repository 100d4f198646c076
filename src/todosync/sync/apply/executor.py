"""Applies a plan: lists before items; within each, local writes in small batches beside the
remote calls (bounded concurrency), whose bookkeeping one writer commits in groups
(`outcomes`). A failing action is logged and counted; the rest goes on. Only an authentication
failure stops the run, since every further call would fail the same way."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.external import errors as ext_errors
from todosync.external.client import ExternalClient
from todosync.sync.apply import outcomes
from todosync.sync.apply.local_apply import LocalWriter, is_local
from todosync.sync.apply.remote_apply import RemoteApplier
from todosync.sync.books.report import Tally
from todosync.sync.core import actions as act

__all__ = ["Executor", "Progress"]

Progress = Callable[[int, int], None]  # called with (actions done, actions in all)
# Rows written per local transaction: small enough that a killed run keeps its progress and
# the SQLite write lock is released often, large enough to be bulk.
_BATCH_ROWS = 2_000


class Executor:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: ExternalClient,
        connection_id: int,
        tenant_id: int,
        tally: Tally,
        concurrency: int,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        skew_s: float = 0.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        # Checked between actions: once it says stop (a shutdown), the action in flight
        # finishes and the rest is counted in `skipped`, left for the next run.
        self.should_stop = should_stop
        self.skipped = 0
        self.tally = tally
        self.writer = LocalWriter(
            connection_id=connection_id,
            tenant_id=tenant_id,
            run_id=tally.run_id,
            clock=tally.clock,
            skew_s=skew_s,
        )
        self.remote = RemoteApplier(
            sessionmaker=sessionmaker,
            client=client,
            writer=self.writer,
            connection_id=connection_id,
        )
        self.concurrency = concurrency
        self._report = progress or (lambda _done, _total: None)
        self._done = 0
        self._total = 0

    def progress(self, finished: int) -> None:
        self._done += finished
        self._report(self._done, self._total)

    async def apply(self, actions: Sequence[act.Action]) -> None:
        """Applies every action, in the plan's order of phases."""
        self._total = len(actions)
        self._report(0, self._total)
        lists, items, recreates = _phases(actions)
        for phase in (lists, items):
            await self._apply_phase(phase)
        await self._apply_phase(self._unblocked(recreates))  # knows the failures by now

    async def _apply_phase(self, phase: Sequence[act.Action]) -> None:
        """The phase's local batches beside its calls: within a phase each entity has one
        action, so the two halves touch different rows, and the local writes (pulled changes)
        overlap the calls' waiting on the network instead of coming before it."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._apply_local([a for a in phase if is_local(a)]))
            group.create_task(self._apply_remote([a for a in phase if not is_local(a)]))

    def _unblocked(self, recreates: Sequence[act.Action]) -> list[act.Action]:
        """The re-creates to run now. A re-create sends the local list whole and takes it as
        agreed, so it waits for the next run when an action on that list or one of its items
        failed in this run: a remote change not yet merged here would be overwritten."""
        failed = {_remote_list_of(action) for action, _, _ in self.tally.failures}
        ready: list[act.Action] = []
        for action in recreates:
            assert isinstance(action, act.RecreateRemoteList)
            if action.old_external_id not in failed:
                ready.append(action)
                continue
            self.tally.counts["skipped"] += 1
            self.tally.log(
                kind="list",
                action="recreate",
                side="remote",
                local_id=action.local_id,
                external_id=action.old_external_id,
                outcome="skipped",
                reason="a change of this list failed; the re-create waits for the next run",
            )
            self.progress(1)
        return ready

    async def _apply_local(self, actions: Sequence[act.Action]) -> None:
        for batch in _batches(actions):
            if self.should_stop():
                self.skipped += len(batch)
                continue
            try:
                await self._local_batch(batch)
            except Exception:  # the batch rolled back: retry its actions one by one
                for action in batch:
                    await self.guard(action, functools.partial(self._local_batch, [action]))
            self.progress(len(batch))

    async def _local_batch(self, batch: Sequence[act.Action]) -> None:
        staged = self.tally.staged()
        async with self.sessionmaker.begin() as session:
            await self.writer.apply(session, batch, staged)
        self.tally.merge(staged)

    async def _apply_remote(self, actions: Sequence[act.Action]) -> None:
        """Sends the phase's calls, `concurrency` at a time; their bookkeeping is committed
        in groups by one writer (`outcomes.Books`) while later calls are in flight."""
        if not actions:
            return
        limit = asyncio.Semaphore(self.concurrency)
        self.remote.read_ahead(actions)
        books = outcomes.Books(
            transaction=self.remote.transaction, tally=self.tally, guard=self.guard
        )

        async def push(action: act.Action) -> None:
            outcome = await self.remote.push(action, self.tally)
            if outcome is not None:
                await books.put(outcome)

        async def one(action: act.Action) -> None:
            async with limit:
                if self.should_stop():
                    self.skipped += 1
                    return
                await self.guard(action, functools.partial(push, action))
                self.progress(1)

        async with books, asyncio.TaskGroup() as group:
            for action in actions:
                group.create_task(one(action))

    async def guard(self, action: act.Action, run: Callable[[], Awaitable[None]]) -> None:
        """Runs one action; records its failure instead of raising, except for bad credentials."""
        try:
            await run()
        except ext_errors.AuthenticationError:
            raise
        except (ext_errors.CircuitOpen, ext_errors.Unreachable) as exc:
            self.tally.unreachable = True
            self.tally.failed(action, _reason(exc))
        except ext_errors.ExternalError as exc:
            self.tally.failed(action, _reason(exc), counted=_entity_fault(exc))
        except Exception as exc:
            self.tally.failed(action, f"internal error ({type(exc).__name__})", counted=True)


def _entity_fault(exc: ext_errors.ExternalError) -> bool:
    """Whether a failure is the entity's own (it then backs off, see `sync.quarantine`):
    a 4xx other than 404 (gone: the next pull settles it) or an undecodable answer. 5xx,
    429, timeouts, drops and ambiguous writes are the API's, paced by retries and breaker."""
    if isinstance(exc, ext_errors.NotFound):
        return False
    return isinstance(exc, ext_errors.PermanentError | ext_errors.InvalidResponse)


def _remote_list_of(action: act.Action) -> str | None:
    """The remote id of the list an action is about (its own, or its item's list)."""
    if isinstance(action, act.CreateLocalItem | act.CreateRemoteItem):
        return action.list_external_id
    if isinstance(action, act.Update | act.Adopt | act.DeleteRemote):
        return action.external_id if action.kind == "list" else action.parent_external_id
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _phases(actions: Sequence[act.Action]) -> list[list[act.Action]]:
    """Lists, then items, then list re-creates (which carry the items' final state)."""
    lists: list[act.Action] = []
    items: list[act.Action] = []
    recreates: list[act.Action] = []
    for action in actions:
        if isinstance(action, act.RecreateRemoteList):
            recreates.append(action)
        else:
            (lists if action.kind == "list" else items).append(action)
    return [lists, items, recreates]


def _weight(action: act.Action) -> int:
    if isinstance(action, act.CreateLocalList):
        return 1 + len(action.remote.items)
    return 1


def _batches(actions: Sequence[act.Action]) -> list[list[act.Action]]:
    batches: list[list[act.Action]] = []
    current: list[act.Action] = []
    weight = 0
    for action in actions:
        if current and weight + _weight(action) > _BATCH_ROWS:
            batches.append(current)
            current, weight = [], 0
        current.append(action)
        weight += _weight(action)
    if current:
        batches.append(current)
    return batches
