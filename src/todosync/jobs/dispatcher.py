"""`Dispatcher`: carries out queued sync runs inside the API process.

`POST /api/sync` records a run as `queued` (with a `run_after`) and wakes the dispatcher; the
dispatcher also wakes every `poll_interval_s`, so delayed runs and runs queued by another
process start on time. Due runs go oldest first, one at a time, through `SyncEngine` with one
external client kept for the app's life (so its circuit breaker means something).

A run whose connection is busy (`RunInProgress`: a CLI sync holds the lease) stays queued and
is tried again on the next wake-up; any other error marks it failed. Nothing stops the loop
but `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.config import Settings
from todosync.errors import TodosyncError
from todosync.external.breaker import CircuitState
from todosync.external.client import ExternalClient
from todosync.sync import queries
from todosync.sync.engine import RunInProgress, RunRequest, SyncEngine
from todosync.sync.models import SyncRun

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
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.poll_interval_s = poll_interval_s
        self._client: ExternalClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def circuit_state(self) -> CircuitState:
        """The breaker of the dispatcher's client ("closed" before the first start)."""
        return "closed" if self._client is None else self._client.circuit_state

    def wake(self) -> None:
        """Looks for due runs now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._client = ExternalClient.from_settings(self.settings)
        self._task = asyncio.create_task(self._loop(), name="todosync-dispatcher")

    async def stop(self) -> None:
        """Cancels the loop (a run in progress is abandoned; its lease expires) and closes
        the client."""
        task, self._task = self._task, None
        if task is not None:
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
        for run, tenant_id in due:
            await self._run_one(run, tenant_id=tenant_id)
        return len(due)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                # e.g. the database is briefly unavailable: try again on the next wake-up
                log.exception("the dispatcher could not look for due runs")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()

    async def _run_one(self, run: SyncRun, *, tenant_id: int) -> None:
        assert self._client is not None, "started"
        engine = SyncEngine(
            sessionmaker=self.sessionmaker,
            client=self._client,
            settings=self.settings,
            connection_id=run.connection_id,
            tenant_id=tenant_id,
        )
        request = RunRequest(
            trigger=run.trigger,
            list_id=run.list_id,
            dry_run=run.dry_run,
            allow_mass_delete=run.allow_mass_delete,
            run_id=run.id,
        )
        try:
            await engine.run(request)
        except RunInProgress:
            log.info("run %s waits: its connection is busy", run.id)
        except Exception as exc:
            log.exception("run %s failed", run.id)
            # Our own errors say what is wrong in words fit for users; others may hold
            # internals (SQL, URLs), so they are named only.
            said = f": {exc}" if isinstance(exc, TodosyncError) else ""
            await self._fail(run.id, reason=f"could not run ({type(exc).__name__}){said}")

    async def _fail(self, run_id: int, *, reason: str) -> None:
        with contextlib.suppress(Exception):  # logged above; the loop must go on
            async with self.sessionmaker.begin() as session:
                await queries.fail_run(session, run_id=run_id, reason=reason, now=utc_now())
