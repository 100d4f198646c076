"""`Dispatcher`: carries out queued sync runs inside the API process.

`POST /api/sync` records a run as `queued` (with a `run_after`) and wakes the dispatcher; the
dispatcher also wakes every `poll_interval_s`, so delayed runs and runs queued by another
process start on time. Due runs go oldest first, one at a time, through `SyncEngine` with one
external client kept for the app's life (so its circuit breaker means something).

A run whose connection is busy (`RunInProgress`: a CLI sync holds the lease) stays queued and
is tried again on the next wake-up; any other error marks it failed. Nothing stops the loop
but `stop()`.

Stopping is cooperative: `request_stop()` (safe to call from a signal handler: it only sets a
flag) makes the engine finish the action in flight, skip the rest and record the run as
`partial` with a reason that says so; no further run starts. `stop()` then waits up to
`SHUTDOWN_TIMEOUT_SECONDS` for that, and only past it cancels the run: the engine releases its
lease on the way out and the run is recorded `failed`, "interrupted by shutdown". Either way
nothing is left `running`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.config import Settings
from todosync.external.breaker import CircuitState
from todosync.external.client import ExternalClient, RequestHook
from todosync.jobs import carry
from todosync.logging import best_effort
from todosync.sync.books import queries
from todosync.sync.books.models import SyncRun
from todosync.sync.books.run_status import RunStatus

if TYPE_CHECKING:
    from todosync.sync.observer import RunObserver

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs due queued runs in a background task between `start()` and `stop()`."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        poll_interval_s: float = 1.0,
        observer: RunObserver | None = None,
        on_request: RequestHook | None = None,
    ) -> None:
        # live events, metrics and alerts: see todosync.observe
        self.observer = observer
        self.on_request = on_request
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.poll_interval_s = poll_interval_s
        self._client: ExternalClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._current_run: int | None = None

    @property
    def circuit_state(self) -> CircuitState:
        """The breaker of the dispatcher's client ("closed" before the first start)."""
        return "closed" if self._client is None else self._client.circuit_state

    def wake(self) -> None:
        """Looks for due runs now rather than at the next poll."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._client = ExternalClient.from_settings(self.settings, on_request=self.on_request)
        self._task = asyncio.create_task(self._loop(), name="todosync-dispatcher")

    def request_stop(self) -> None:
        """Asks the run in progress to stop after its current action; starts no other run.
        Only sets a flag, so a signal handler may call it."""
        self._stopping = True

    async def stop(self, *, timeout_s: float | None = None) -> None:
        """Stops cooperatively, waiting up to `timeout_s` (default `SHUTDOWN_TIMEOUT_SECONDS`)
        for the run in progress; past that cancels it. Then closes the client."""
        self.request_stop()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            timeout = self.settings.shutdown_timeout_seconds if timeout_s is None else timeout_s
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                log.warning("the sync run did not stop within %.1f s; cancelling it", timeout)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def run_due(self) -> int:
        """Carries out every run that is due now; returns how many were attempted."""
        async with self.sessionmaker() as session:
            due = await queries.due_runs(session, now=utc_now())
        attempted = 0
        for run, tenant_id in due:
            if self._stopping:
                break  # queued runs stay queued for the next start
            attempted += 1
            await self._run_one(run, tenant_id=tenant_id)
        return attempted

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                await self._interrupted()
                raise
            except Exception:
                # e.g. the database is briefly unavailable: try again on the next wake-up
                log.exception("the dispatcher could not look for due runs")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()

    async def _interrupted(self) -> None:
        """Records the run that a cancellation cut short (its lease the engine released)."""
        run_id, self._current_run = self._current_run, None
        if run_id is None:
            return
        # at worst the reaper marks it later
        with best_effort(log, f"closing the interrupted run {run_id}"):
            async with self.sessionmaker() as session:
                run = await session.get(SyncRun, run_id)
                started = run is not None and run.status == RunStatus.RUNNING
            # one that never started stays queued for the next start
            if started:
                await self._fail(run_id, reason="interrupted by shutdown before it could finish")

    async def _run_one(self, run: SyncRun, *, tenant_id: int) -> None:
        assert self._client is not None, "started"
        carrier = carry.Carrier(
            sessionmaker=self.sessionmaker,
            client=self._client,
            settings=self.settings,
            should_stop=lambda: self._stopping,
            observer=self.observer,
        )
        # kept when a cancellation cuts the run short, for `_interrupted` to record it
        self._current_run = run.id
        await carrier.carry_out(run, tenant_id=tenant_id)  # a busy one stays queued
        self._current_run = None

    async def _fail(self, run_id: int, *, reason: str) -> None:
        with best_effort(log, f"marking run {run_id} failed"):  # the loop must go on
            async with self.sessionmaker.begin() as session:
                await queries.fail_run(session, run_id=run_id, reason=reason, now=utc_now())
