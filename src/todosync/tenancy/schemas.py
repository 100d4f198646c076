"""Response shapes of `/api/admin`: one entry per connection of every tenant, read-only.

No entry carries any list, item or log content, nor any external API token or URL.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from todosync.store.schemas import Page, Timestamp
from todosync.sync.books.run_status import RunStatus
from todosync.tenancy.overview import ConnectionHealth, Health

__all__ = ["AdminConnectionOut", "AdminConnectionPage", "LastRunOut"]


class LastRunOut(BaseModel):
    """The connection's last finished run."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: RunStatus
    finished_at: Timestamp | None


class AdminConnectionOut(BaseModel):
    """How one tenant's connection stands."""

    connection_id: int
    connection: str = Field(description="The connection's name.")
    tenant_id: int
    tenant: str = Field(description="The tenant's name.")
    tenant_disabled: bool
    health: Health = Field(
        description=(
            "`failing` (the last run failed or found the external API unreachable), "
            "`attention` (held, partial, open conflicts or quarantine), `disabled`, "
            "`new` (no finished run yet) or `ok`."
        )
    )
    last_run: LastRunOut | None
    last_success_at: Timestamp | None
    lag_s: float | None = Field(description="Seconds since the last successful run.")
    open_conflicts: int
    quarantined: int
    pending_changes: int
    next_run_at: Timestamp | None

    @classmethod
    def of(cls, found: ConnectionHealth) -> AdminConnectionOut:
        status = found.status
        last = status.last_run
        return cls(
            connection_id=found.id,
            connection=found.name,
            tenant_id=found.tenant_id,
            tenant=found.tenant,
            tenant_disabled=found.tenant_disabled,
            health=found.health,
            last_run=None if last is None else LastRunOut.model_validate(last),
            last_success_at=status.last_success_at,
            lag_s=status.lag_s,
            open_conflicts=status.open_conflicts,
            quarantined=status.quarantined,
            pending_changes=status.pending_changes,
            next_run_at=status.next_run_at,
        )


class AdminConnectionPage(Page[AdminConnectionOut]):
    """A page of connections."""
