"""`Scheduler`: the embedded periodic scheduler, a plain asyncio loop over `SyncSchedule` rows.

For every enabled connection of every enabled tenant, every interval (the connection's own,
`connections create --interval`, or `SYNC_INTERVAL_SECONDS`; ±10 % jitter; 0 means no
periodic runs, and `SYNC_INTERVAL_SECONDS=0` turns the whole scheduler off) it queues a run
with trigger `schedule` through one function, `enqueue` (by default `sync.service.queue_run`,
so a periodic trigger coalesces with a queued run of the same kind exactly as a manual one
does; the distributed mode passes a function that enqueues a job instead). The first
periodic run comes one interval after `start()`. With `SYNC_INTERVAL_MODE=adaptive` each
connection's interval comes from `jobs.adaptive` over its own runs of the last few maximum
intervals, around its own base interval.

The next periodic time lives in the database (`sync_schedules`), so `GET /api/sync/status` shows
it from any process; it is claimed with a conditional update, so two schedulers over one
database queue each periodic run once. Delayed and manual triggers need nothing from here: they
are queued rows already and survive a restart as such.

Housekeeping (on start, then every `housekeeping_s`): runs left `running` by a process that
died are marked `failed` (`sync.runs.reap_abandoned`), runs past `RUN_RETENTION_DAYS` are
purged with their logs (`jobs.retention`), and history events past
`HISTORY_RETENTION_DAYS` fold into baselines (`history.retention`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import Clock, utc_now
from todosync.config import IntervalMode, Settings
from todosync.history import retention as history_retention
from todosync.jobs import adaptive, retention, schedules
from todosync.sync import service
from todosync.sync.books import runs, totals
from todosync.sync.books.models import SyncSchedule

__all__ = ["Enqueue", "Scheduler", "queue_scheduled_run"]

log = logging.getLogger(__name__)

# Runs older than this many maximum intervals weigh under 1 % in the adaptive rate.
_LOOKBACK_WINDOWS = 5


class Enqueue(Protocol):
    """Queues one periodic run of the tenant's connection inside the caller's transaction."""

    def __call__(self, session: AsyncSession, *, tenant_id: int) -> Awaitable[object]: ...


async def queue_scheduled_run(session: AsyncSession, *, tenant_id: int) -> object:
    """The embedded `Enqueue`: a queued run with trigger `schedule`, coalesced like any other."""
    return await service.queue_run(
        session,
        tenant_id=tenant_id,
        list_id=None,
        delay_s=0.0,
        dry_run=False,
        allow_mass_delete=False,
        trigger="schedule",
    )


class Scheduler:
    """Queues periodic runs and keeps house between `start()` and `stop()`."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        enqueue: Enqueue = queue_scheduled_run,
        on_queued: Callable[[], None] | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        poll_s: float = 5.0,
        housekeeping_s: float = 60.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.enqueue = enqueue
        self.on_queued = on_queued or (lambda: None)
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        # Longest sleep: how soon a new connection or a schedule changed elsewhere is noticed.
        self.poll_s = poll_s
        self.housekeeping_s = housekeeping_s
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.settings.sync_interval_seconds > 0

    async def start(self) -> None:
        """Sets every connection's first periodic run one interval from now, then loops."""
        if self._task is not None:
            return
        self._stop.clear()
        await self.reset()
        self._task = asyncio.create_task(self._loop(), name="todosync-scheduler")

    async def stop(self) -> None:
        """Ends the loop after its current step (each step is a short transaction)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(task, timeout=5.0)
        except TimeoutError:
            log.warning("the scheduler did not stop in time; cancelled")

    async def reset(self) -> None:
        """First periodic runs one (jittered) interval from now; none when the scheduler is off."""
        now = self.clock()
        async with self.sessionmaker.begin() as session:
            if not self.enabled:
                await schedules.clear(session)
                return
            rows = await schedules.list_schedules(session)
            for found in await self._scheduled(session, {row.connection_id for row in rows}):
                interval = await self._interval(session, found, now=now)
                await schedules.put(
                    session,
                    connection_id=found.connection_id,
                    next_run_at=self._after(now, interval),
                    interval_s=interval,
                    now=now,
                )

    async def tick(self) -> float:
        """Queues the periodic runs that are due; returns the seconds until the next one is
        (at most `poll_s`)."""
        if not self.enabled:
            return self.poll_s
        now = self.clock()
        next_due = now + timedelta(seconds=self.poll_s)
        queued = 0
        async with self.sessionmaker.begin() as session:
            rows = {row.connection_id: row for row in await schedules.list_schedules(session)}
            for found in await self._scheduled(session, rows.keys()):
                row = rows.get(found.connection_id)
                if row is not None and row.next_run_at > now:
                    next_due = min(next_due, row.next_run_at)
                    continue
                due, won = await self._advance(session, found, row=row, now=now)
                if won:
                    await self.enqueue(session, tenant_id=found.tenant_id)
                    queued += 1
                next_due = min(next_due, due)
        if queued:
            log.info("queued %d periodic run(s)", queued)
            self.on_queued()
        return max(0.0, (next_due - now).total_seconds())

    async def _scheduled(
        self, session: AsyncSession, have_rows: Collection[int]
    ) -> list[schedules.Schedulable]:
        """The connections that take periodic runs (enabled, with an interval above 0); the
        periodic times of others among `have_rows` are forgotten."""
        scheduled = [
            found
            for found in await schedules.schedulable_connections(session)
            if self._base_interval(found) > 0
        ]
        await schedules.forget(session, set(have_rows) - {s.connection_id for s in scheduled})
        return scheduled

    async def _advance(
        self,
        session: AsyncSession,
        found: schedules.Schedulable,
        *,
        row: SyncSchedule | None,
        now: datetime,
    ) -> tuple[datetime, bool]:
        """Sets the connection's next periodic time one interval on; True when a due run is
        ours to queue (None `row`: a connection created since start, nothing due yet)."""
        connection_id = found.connection_id
        interval = await self._interval(session, found, now=now)
        due = self._after(now, interval)
        if row is None:
            await schedules.put(
                session, connection_id=connection_id, next_run_at=due, interval_s=interval, now=now
            )
            return due, False
        won = await schedules.claim(
            session,
            connection_id=connection_id,
            due_at=row.next_run_at,
            next_run_at=due,
            interval_s=interval,
            now=now,
        )
        return due, won

    async def housekeep(self) -> int:
        """Marks runs whose holder died `failed` (abandoned), purges runs past the retention
        period and folds old history; returns how many runs were purged."""
        now = self.clock()
        async with self.sessionmaker.begin() as session:
            reaped = await runs.reap_abandoned(
                session, now=now, ttl_s=self.settings.lease_ttl_seconds
            )
        if reaped:
            log.warning("marked %d abandoned run(s) failed: %s", len(reaped), reaped)
        older_than = now - timedelta(days=self.settings.run_retention_days)
        purged = await retention.purge_runs(self.sessionmaker, older_than=older_than)
        if purged:
            log.info("purged %d run(s) older than the retention period", purged)
        cutoff = now - timedelta(days=self.settings.history_retention_days)
        folded = await history_retention.fold_window(self.sessionmaker, cutoff=cutoff)
        if folded:
            log.info("folded %d history event(s) older than the retention window", folded)
        return purged

    def _base_interval(self, found: schedules.Schedulable) -> float:
        return self.settings.sync_interval_seconds if found.interval_s is None else found.interval_s

    async def _interval(
        self, session: AsyncSession, found: schedules.Schedulable, *, now: datetime
    ) -> float:
        s = self.settings
        base_s = self._base_interval(found)
        if s.sync_interval_mode is not IntervalMode.ADAPTIVE:
            return base_s
        high = max(s.sync_interval_min_seconds, s.sync_interval_max_seconds)
        since = now - timedelta(seconds=high * _LOOKBACK_WINDOWS)
        seen = await totals.recent_changes(session, connection_id=found.connection_id, since=since)
        return adaptive.next_interval(
            [adaptive.Observation(at=at, changes=changes) for at, changes in seen],
            now=now,
            base_s=base_s,
            min_s=s.sync_interval_min_seconds,
            max_s=s.sync_interval_max_seconds,
        )

    def _after(self, now: datetime, interval_s: float) -> datetime:
        return now + timedelta(seconds=adaptive.jittered(interval_s, rng=self.rng))

    async def _loop(self) -> None:
        next_housekeeping = 0.0
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            wait_s = self.poll_s
            try:
                if loop.time() >= next_housekeeping:
                    next_housekeeping = loop.time() + self.housekeeping_s
                    await self.housekeep()
                wait_s = await self.tick()
            except Exception:
                # e.g. the database is briefly locked or unreachable: try again shortly
                log.exception("the scheduler's step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=max(wait_s, 0.05))
