"""`Dispatcher`: carries out queued sync runs inside the API process.

`POST /api/sync` records a run as `queued` (with a `run_after`) and wakes the dispatcher; the
dispatcher also wakes every `poll_interval_s`, so delayed runs and runs queued by another
process start on time. Due runs start oldest first, each in a task of its own, with each
connection's client (`tenancy.clients`, so each connection's circuit breaker means something):

- at most `TODOSYNC_MAX_CONCURRENT_RUNS` at once, and one per connection (its later runs wait
  for that one), so a connection whose external API hangs holds one slot and no more;
- a run whose connection is busy elsewhere (`RunInProgress`: a CLI sync or another process
  holds the lease) stays queued and is tried again at the next poll; any other error marks
  it failed. Nothing stops the loop but `stop()`.

Stopping is cooperative: `request_stop()` (safe to call from a signal handler: it only sets a
flag) makes each engine finish the action in flight, skip the rest and record its run as
`partial` with a reason that says so; no further run starts. `stop()` then waits up to
`SHUTDOWN_TIMEOUT_SECONDS` for them, and only past it cancels them: each engine releases its
lease on the way out and its run is recorded `failed`, "interrupted by shutdown". Either way
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
from todosync.jobs import carry
from todosync.logging import best_effort
from todosync.sync.books import queries
from todosync.sync.books.models import SyncRun
from todosync.sync.books.run_status import RunStatus
from todosync.tenancy.clients import ConnectionClients

if TYPE_CHECKING:
    from todosync.sync.observer import RunObserver

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs due queued runs in background tasks between `start()` and `stop()`."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clients: ConnectionClients | None = None,
        poll_interval_s: float = 1.0,
        observer: RunObserver | None = None,
    ) -> None:
        # live events, metrics and alerts: see todosync.observe
        self.observer = observer
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.poll_interval_s = poll_interval_s
        self._owns_clients = clients is None
        self.clients = clients or ConnectionClients(settings=settings, sessionmaker=sessionmaker)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        # the run in progress of each busy connection, and its task
        self._running: dict[int, tuple[int, asyncio.Task[None]]] = {}

    def circuit_state(self, connection_id: int) -> CircuitState:
        """The breaker of the connection's client here ("closed" before its first run)."""
        return self.clients.circuit_state(connection_id)

    def wake(self) -> None:
        """Looks for due runs now rather than at the next poll."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def running(self) -> int:
        """How many runs this dispatcher is carrying out now."""
        return len(self._running)

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="todosync-dispatcher")

    def request_stop(self) -> None:
        """Asks the runs in progress to stop after their current action; starts no other run.
        Only sets a flag, so a signal handler may call it."""
        self._stopping = True

    async def stop(self, *, timeout_s: float | None = None) -> None:
        """Stops cooperatively, waiting up to `timeout_s` (default `SHUTDOWN_TIMEOUT_SECONDS`)
        for the runs in progress; past that cancels them. Then closes its own clients."""
        self.request_stop()
        self._wake.set()
        loop_task, self._task = self._task, None
        if loop_task is not None:
            await loop_task  # it only waits for a wake-up: it ends at once
        tasks = {task for _, task in self._running.values()}
        if tasks:
            timeout = self.settings.shutdown_timeout_seconds if timeout_s is None else timeout_s
            _, late = await asyncio.wait(tasks, timeout=timeout)
            if late:
                log.warning(
                    "%d sync run(s) did not stop within %.1f s; cancelling", len(late), timeout
                )
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        if self._owns_clients:
            await self.clients.aclose()

    async def run_due(self) -> int:
        """Starts the due runs that have a free slot, oldest first, one per connection;
        returns how many it started (they go on in their own tasks)."""
        async with self.sessionmaker() as session:
            due = await queries.due_runs(session, now=utc_now())
        started = 0
        for run, tenant_id in due:
            if self._stopping or len(self._running) >= self.settings.max_concurrent_runs:
                break  # queued runs stay queued for a free slot or the next start
            if run.connection_id in self._running:
                continue  # one run per connection: this one waits for the one in progress
            task = asyncio.create_task(
                self._carry_out(run, tenant_id=tenant_id), name=f"todosync-run-{run.id}"
            )
            self._running[run.connection_id] = (run.id, task)
            started += 1
        return started

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_due()
            except Exception:
                # e.g. the database is briefly unavailable: try again on the next wake-up
                log.exception("the dispatcher could not look for due runs")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()

    async def _carry_out(self, run: SyncRun, *, tenant_id: int) -> None:
        carrier = carry.Carrier(
            sessionmaker=self.sessionmaker,
            clients=self.clients,
            settings=self.settings,
            should_stop=lambda: self._stopping,
            observer=self.observer,
        )
        done = False
        try:
            done = await carrier.carry_out(run, tenant_id=tenant_id)
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupted(run.id))
            raise
        except Exception:
            # the carrier records the run's own failures; this is e.g. the database gone
            log.exception("run %s could not be carried out", run.id)
        finally:
            self._running.pop(run.connection_id, None)
        if done:
            self.wake()  # a slot is free: the next due run need not wait for the poll
        # a busy one stays queued until the next poll (no tight loop while another holds it)

    async def _interrupted(self, run_id: int) -> None:
        """Records a run that a cancellation cut short (its lease the engine released)."""
        # at worst the reaper marks it later
        with best_effort(log, f"closing the interrupted run {run_id}"):
            async with self.sessionmaker() as session:
                run = await session.get(SyncRun, run_id)
                started = run is not None and run.status == RunStatus.RUNNING
            # one that never started stays queued for the next start
            if started:
                async with self.sessionmaker.begin() as session:
                    await queries.fail_run(
                        session,
                        run_id=run_id,
                        reason="interrupted by shutdown before it could finish",
                        now=utc_now(),
                    )
