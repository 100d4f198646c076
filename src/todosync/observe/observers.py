"""`Observers`: the implementation of `sync.observer.RunObserver` that turns what the engine
tells about a run into live events, metrics and alerts.

The engine calls `run_started`, `run_progress` (from its progress callback) and `run_finished`
(after the run is recorded, with the run's log entries). Nothing here may fail or slow a run:
each consumer's error is logged and swallowed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.config import Settings
from todosync.observe import alerts, events, metrics
from todosync.sync.books import queries, run_status
from todosync.sync.books.report import RunReport

__all__ = ["ENTITY_EVENTS_MAX", "Observers", "for_process"]

log = logging.getLogger(__name__)

# Past this many changed entities in one run, one summary event replaces the per-entity ones.
ENTITY_EVENTS_MAX = 200
# Progress events at most this often per run (the first and the last always go).
_PROGRESS_EVERY_S = 0.5


class Observers:
    """Publishes events to `bus`, observes durations in `metrics`, alerts through `notifier`;
    each of them optional."""

    def __init__(
        self,
        *,
        bus: events.EventBus | None = None,
        metrics: metrics.Metrics | None = None,
        notifier: alerts.Notifier | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker  # to read what a run changed, for the events
        self.bus = bus
        self.metrics = metrics
        self.notifier = notifier
        self._last_progress: dict[int, float] = {}

    def _publish(self, kind: str, tenant_id: int, **data: Any) -> None:
        if self.bus is not None:
            try:
                self.bus.publish(events.Event(kind, tenant_id, data))
            except Exception:
                log.exception("live event %s not published", kind)

    async def run_started(self, *, run_id: int, trigger: str, tenant_id: int) -> None:
        self._publish("run.started", tenant_id, run_id=run_id, trigger=trigger)

    def run_progress(self, *, run_id: int, tenant_id: int, done: int, total: int) -> None:
        now = time.monotonic()
        last = self._last_progress.get(run_id)
        if last is not None and done < total and now - last < _PROGRESS_EVERY_S:
            return
        self._last_progress[run_id] = now
        self._publish("run.progress", tenant_id, run_id=run_id, done=done, total=total)

    async def run_finished(self, *, report: RunReport, connection_id: int, tenant_id: int) -> None:
        self._last_progress.pop(report.run_id, None)
        # every run's outcome in one line, in whichever process ran it (serve, worker, CLI)
        level = logging.WARNING if report.status in run_status.ALARMING else logging.INFO
        log.log(level, "connection %d: %s", connection_id, report.summary())
        if self.bus is not None and self.sessionmaker is not None:
            try:
                await self._publish_changes(report.run_id, tenant_id)
            except Exception:
                log.exception("live events of run %s not published", report.run_id)
        self._publish(
            "run.finished",
            tenant_id,
            run_id=report.run_id,
            status=report.status,
            dry_run=report.dry_run,
            counts=report.counts,
        )
        if self.metrics is not None and not report.dry_run:
            self.metrics.observe_run(duration_s=report.duration_s)
        if self.notifier is not None:
            try:
                await self.notifier.run_finished(
                    run_id=report.run_id, connection_id=connection_id, dry_run=report.dry_run
                )
            except Exception:
                log.exception("alert for run %s not sent", report.run_id)

    async def _publish_changes(self, run_id: int, tenant_id: int) -> None:
        """`entity.changed` per entity the run changed (one summary past `ENTITY_EVENTS_MAX`)
        and `conflict.opened` per conflict it opened, read from what the run recorded."""
        assert self.sessionmaker is not None
        async with self.sessionmaker() as session:
            changed = await queries.changed_entities(
                session, run_id=run_id, limit=ENTITY_EVENTS_MAX + 1
            )
            conflicts = await queries.opened_conflicts(session, run_id=run_id)
        if len(changed) > ENTITY_EVENTS_MAX:
            self._publish("entity.changed", tenant_id, run_id=run_id, many=True)
        else:
            for kind, local_id, action, side in changed:
                self._publish(
                    "entity.changed",
                    tenant_id,
                    run_id=run_id,
                    entity=kind,
                    id=local_id,
                    action=action,
                    side=side,
                )
        for conflict_id in conflicts:
            self._publish("conflict.opened", tenant_id, run_id=run_id, id=conflict_id)

    def conflict_resolved(self, *, tenant_id: int, conflict_id: int) -> None:
        self._publish("conflict.resolved", tenant_id, id=conflict_id)


@contextlib.asynccontextmanager
async def for_process(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    metrics: metrics.Metrics | None = None,
) -> AsyncIterator[Observers]:
    """Observers for a process that runs syncs without serving streams (a CLI sync, a worker):
    on PostgreSQL its events reach every `serve` through NOTIFY; on SQLite there is no one to
    tell, so it publishes nothing. Sends what is pending before it returns."""
    bus = events.create_bus(settings.database_url, listen=False)
    notifier = alerts.from_settings(settings, sessionmaker=sessionmaker)
    shared = isinstance(bus, events.PostgresBus)
    await bus.start()
    try:
        yield Observers(
            bus=bus if shared else None,
            metrics=metrics,
            notifier=notifier,
            sessionmaker=sessionmaker,
        )
    finally:
        await bus.aclose()
        if notifier is not None:
            await notifier.aclose()
