"""Queries on tenants, with what `tenants list` shows of each. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.store.models import ApiToken, Connection, Tenant

__all__ = ["list_tenants", "set_disabled"]


async def list_tenants(session: AsyncSession) -> Sequence[tuple[Tenant, int, int]]:
    """Every tenant, oldest first, with its live tokens and its connections counted."""
    tokens = (
        sa.select(sa.func.count())
        .where(ApiToken.tenant_id == Tenant.id, ApiToken.revoked_at.is_(None))
        .scalar_subquery()
    )
    connections = (
        sa.select(sa.func.count()).where(Connection.tenant_id == Tenant.id).scalar_subquery()
    )
    statement = sa.select(Tenant, tokens, connections).order_by(Tenant.id)
    return [(tenant, n, c) for tenant, n, c in (await session.execute(statement)).all()]


async def set_disabled(session: AsyncSession, *, tenant: Tenant, at: datetime | None) -> None:
    tenant.disabled_at = at
    await session.flush()
