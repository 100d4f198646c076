"""Queries on tenants, with what `tenants list` shows of each, and every tenant's connections
(the admin overview). Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.store.models import ApiToken, Connection, Tenant

__all__ = [
    "ConnectionRow",
    "add_connection",
    "connection_ids",
    "list_connections",
    "list_tenants",
    "page_connections",
    "put_token_ciphertexts",
    "set_connection_disabled",
    "set_disabled",
    "set_token_ciphertext",
    "stored_tokens",
]

ConnectionRow = sa.Row[int, str, int, str, datetime | None]
"""(connection id, connection name, tenant id, tenant name, tenant's disabled_at)."""


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


# -- connections ---------------------------------------------------------------------------------


async def connection_ids(session: AsyncSession, *, tenant_id: int) -> list[int]:
    """The tenant's connections, oldest first."""
    statement = sa.select(Connection.id).where(Connection.tenant_id == tenant_id)
    return list((await session.execute(statement.order_by(Connection.id))).scalars())


async def add_connection(
    session: AsyncSession,
    *,
    tenant_id: int,
    name: str,
    url: str,
    token_ciphertext: str | None,
    interval_s: float | None,
    now: datetime,
) -> int:
    connection = Connection(
        tenant_id=tenant_id,
        name=name,
        external_api_url=url,
        token_ciphertext=token_ciphertext,
        interval_s=interval_s,
        created_at=now,
    )
    session.add(connection)
    await session.flush()
    return connection.id


async def list_connections(session: AsyncSession) -> Sequence[tuple[Connection, str]]:
    """Every connection with its tenant's name, oldest first."""
    statement = (
        sa.select(Connection, Tenant.name)
        .join(Tenant, Tenant.id == Connection.tenant_id)
        .order_by(Connection.id)
    )
    return [(connection, name) for connection, name in (await session.execute(statement)).all()]


async def set_connection_disabled(
    session: AsyncSession, *, connection: Connection, at: datetime | None
) -> None:
    connection.disabled_at = at
    await session.flush()


async def set_token_ciphertext(
    session: AsyncSession, *, connection: Connection, ciphertext: str | None
) -> None:
    connection.token_ciphertext = ciphertext
    await session.flush()


async def stored_tokens(session: AsyncSession) -> list[tuple[int, str]]:
    """(connection id, encrypted token) of every connection that has one, locked until the
    transaction ends (a rotation must not lose a token set meanwhile)."""
    statement = (
        sa.select(Connection.id, Connection.token_ciphertext)
        .where(Connection.token_ciphertext.is_not(None))
        .order_by(Connection.id)
        .with_for_update()
    )
    return [(i, c) for i, c in (await session.execute(statement)).all() if c is not None]


async def put_token_ciphertexts(session: AsyncSession, rows: list[tuple[int, str]]) -> None:
    """Writes the encrypted tokens, in one executemany."""
    if not rows:
        return
    await session.execute(
        sa.update(Connection).execution_options(synchronize_session=False),
        [{"id": connection_id, "token_ciphertext": c} for connection_id, c in rows],
    )


async def page_connections(
    session: AsyncSession, *, after_id: int, limit: int
) -> Sequence[ConnectionRow]:
    """Up to `limit` connections of every tenant with ids above `after_id`, by id, each with
    its tenant's id, name and `disabled_at` (the admin overview)."""
    statement = (
        sa.select(Connection.id, Connection.name, Tenant.id, Tenant.name, Tenant.disabled_at)
        .join(Tenant, Tenant.id == Connection.tenant_id)
        .where(Connection.id > after_id)
        .order_by(Connection.id)
        .limit(limit)
    )
    return (await session.execute(statement)).all()
