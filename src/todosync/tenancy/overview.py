"""What an admin token sees: every tenant's connections and how their syncs stand.

Read-only, and nothing of any tenant's lists, items or log entries: the figures come from the
same per-connection status as the tenant's own `GET /api/sync/status`
(`sync.service.connection_statuses`). No external API token is read here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.db.page import Page
from todosync.sync import service as sync_service
from todosync.sync.books.run_status import RunStatus
from todosync.tenancy import repository

__all__ = ["ConnectionHealth", "Health", "page_connections"]

_FAILING = frozenset({RunStatus.FAILED, RunStatus.DEGRADED})


class Health(enum.StrEnum):
    """One word per connection for an operator scanning many tenants."""

    FAILING = "failing"  # the last run failed, or found the external API unreachable
    ATTENTION = "attention"  # held, partial, open conflicts or quarantined entities
    DISABLED = "disabled"  # the tenant is disabled: nothing syncs
    NEW = "new"  # no run has finished yet
    OK = "ok"


@dataclass(frozen=True, slots=True)
class ConnectionHealth:
    """One connection with its tenant and its sync status."""

    id: int
    name: str
    tenant_id: int
    tenant: str
    tenant_disabled: bool
    status: sync_service.Status

    @property
    def health(self) -> Health:
        last = self.status.last_run
        if self.tenant_disabled:
            return Health.DISABLED
        if last is None:
            return Health.NEW
        if last.status in _FAILING:
            return Health.FAILING
        waiting = self.status.open_conflicts or self.status.quarantined
        if last.status != RunStatus.OK or waiting:
            return Health.ATTENTION
        return Health.OK


async def page_connections(
    session: AsyncSession, *, after_id: int, limit: int
) -> Page[ConnectionHealth]:
    """One page of every tenant's connections, by id (`limit + 1` fetched to tell whether
    another page follows); the page's statuses are read together, a few statements for any
    page size."""
    rows = list(await repository.page_connections(session, after_id=after_id, limit=limit + 1))
    shown = rows[:limit]
    # The circuits stay "closed": a breaker lives in the process that syncs, and says nothing
    # about other connections; a degraded last run shows as failing instead.
    statuses = await sync_service.connection_statuses(
        session, connection_ids=[row[0] for row in shown]
    )
    found = [
        ConnectionHealth(
            id=connection_id,
            name=name,
            tenant_id=tenant_id,
            tenant=tenant,
            tenant_disabled=disabled_at is not None,
            status=statuses[connection_id],
        )
        for connection_id, name, tenant_id, tenant, disabled_at in shown
    ]
    last_id = found[-1].id if len(rows) > limit else None
    return Page(rows=found, last_id=last_id)
