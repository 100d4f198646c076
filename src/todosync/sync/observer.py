"""`RunObserver`: what the sync engine tells the outside about a run. The engine calls it;
`todosync.observe.observers.Observers` implements it (live events, metrics, alerts), so the
interface sits here, beside its caller, and the engine imports nothing above it."""

from __future__ import annotations

from typing import Protocol

from todosync.sync.books.report import RunReport

__all__ = ["RunObserver"]


class RunObserver(Protocol):
    """Told about a run by the engine; `run_finished` comes after the run is recorded."""

    async def run_started(self, *, run_id: int, trigger: str, tenant_id: int) -> None: ...

    def run_progress(self, *, run_id: int, tenant_id: int, done: int, total: int) -> None: ...

    async def run_finished(
        self, *, report: RunReport, connection_id: int, tenant_id: int
    ) -> None: ...
