"""Carrying out one queued run: the one path that the in-process dispatcher (`serve`) and the
PGQueuer handler (`todosync worker`) share.

`carry_out` runs the queued run through a `SyncEngine` over its connection's client (one per
connection and process: `tenancy.clients`). A run whose
connection is busy (another process holds its lease) stays queued: `carry_out` returns False
and the caller decides when to come back. A run that cannot be carried out (its list is gone,
a bug) is recorded `failed` with a reason fit for users: our own errors are worded for them,
others may hold internals (SQL, URLs) and are named only. Exceptions of the types in
`passed_on` go to the caller instead (the worker retries a job on database errors).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.config import Settings
from todosync.errors import TodosyncError
from todosync.sync.books import queries
from todosync.sync.books.models import SyncRun
from todosync.sync.engine import EngineOptions, RunInProgress, RunRequest, SyncEngine
from todosync.tenancy.clients import ConnectionClients

if TYPE_CHECKING:
    from todosync.sync.observer import RunObserver

__all__ = ["Carrier"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Carrier:
    """What a process carries runs out with."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clients: ConnectionClients
    settings: Settings
    should_stop: Callable[[], bool]
    observer: RunObserver | None = None
    passed_on: tuple[type[Exception], ...] = ()

    async def carry_out(self, run: SyncRun, *, tenant_id: int) -> bool:
        """Runs the queued `run`; False when its connection is busy (it stays queued)."""
        request = RunRequest(
            trigger=run.trigger,
            list_id=run.list_id,
            dry_run=run.dry_run,
            allow_mass_delete=run.allow_mass_delete,
            restore_remote=run.restore_remote,
            run_id=run.id,
        )
        try:
            async with self.clients.lend(run.connection_id) as client:
                engine = SyncEngine(
                    sessionmaker=self.sessionmaker,
                    client=client,
                    options=EngineOptions.from_settings(self.settings),
                    connection_id=run.connection_id,
                    tenant_id=tenant_id,
                    should_stop=self.should_stop,
                    observer=self.observer,
                )
                await engine.run(request)
        except RunInProgress:
            log.info("run %s waits: its connection is busy", run.id)
            return False
        except self.passed_on:
            raise
        except Exception as exc:
            log.exception("run %s failed", run.id)
            said = f": {exc}" if isinstance(exc, TodosyncError) else ""
            reason = f"could not run ({type(exc).__name__}){said}"
            async with self.sessionmaker.begin() as session:
                await queries.fail_run(session, run_id=run.id, reason=reason, now=utc_now())
        return True
