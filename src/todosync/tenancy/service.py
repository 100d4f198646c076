"""Creating, listing, disabling and enabling tenants (the CLI's `todosync tenants`).

Like every service it only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.auth import repository as auth_repository
from todosync.auth import service as auth_service
from todosync.clock import iso_utc, utc_now
from todosync.errors import ConflictError, NotFoundError
from todosync.store.models import DEFAULT_TENANT_ID, Tenant
from todosync.sync.books import runs
from todosync.tenancy import repository

__all__ = [
    "TenantInfo",
    "create_tenant",
    "disable_tenant",
    "enable_tenant",
    "list_tenants",
    "tenant_id_named",
]

DISABLED_REASON = "its tenant was disabled"


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: int
    name: str
    created_at: datetime
    disabled_at: datetime | None
    live_tokens: int
    connections: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": iso_utc(self.created_at),
            "disabled_at": iso_utc(self.disabled_at) if self.disabled_at else None,
            "live_tokens": self.live_tokens,
            "connections": self.connections,
        }


async def create_tenant(session: AsyncSession, *, name: str) -> int:
    """A new tenant's id; `ConflictError` when the name is taken."""
    auth_service.check_tenant_name(name)
    if await auth_repository.get_tenant_id_by_name(session, name=name) is not None:
        raise ConflictError(f"tenant {name} exists")
    return await auth_repository.add_tenant(session, name=name, now=utc_now())


async def list_tenants(session: AsyncSession) -> list[TenantInfo]:
    return [
        TenantInfo(
            id=tenant.id,
            name=tenant.name,
            created_at=tenant.created_at,
            disabled_at=tenant.disabled_at,
            live_tokens=tokens,
            connections=connections,
        )
        for tenant, tokens, connections in await repository.list_tenants(session)
    ]


async def disable_tenant(session: AsyncSession, *, name: str) -> bool:
    """Disables the tenant (False when it already was): its tokens stop working, its queued
    runs fail with the reason, and no new run is queued for it. Its data stays."""
    tenant = await _named(session, name)
    if tenant.disabled_at is not None:
        return False
    now = utc_now()
    await repository.set_disabled(session, tenant=tenant, at=now)
    await runs.fail_queued_runs(session, tenant_id=tenant.id, reason=DISABLED_REASON, now=now)
    return True


async def enable_tenant(session: AsyncSession, *, name: str) -> bool:
    """Enables a disabled tenant again (False when it was not disabled)."""
    tenant = await _named(session, name)
    if tenant.disabled_at is None:
        return False
    await repository.set_disabled(session, tenant=tenant, at=None)
    return True


async def tenant_id_named(session: AsyncSession, name: str | None) -> int:
    """The id of the tenant called `name` (None: the default tenant); `NotFoundError` if none."""
    return DEFAULT_TENANT_ID if name is None else (await _named(session, name)).id


async def _named(session: AsyncSession, name: str) -> Tenant:
    tenant = await auth_repository.get_tenant_by_name(session, name=name)
    if tenant is None:
        raise NotFoundError(f"no tenant {name}")
    return tenant
