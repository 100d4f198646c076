"""Queries on tenants and API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.store.models import ApiToken, EndedSession, Tenant

__all__ = [
    "add_tenant",
    "add_token",
    "end_session",
    "find_tokens",
    "get_tenant_by_name",
    "get_tenant_id_by_name",
    "get_token_by_hash",
    "is_session_ended",
    "list_tokens",
    "live_token",
    "mark_revoked",
]


async def get_tenant_id_by_name(session: AsyncSession, *, name: str) -> int | None:
    """The id of the tenant called `name`, if there is one."""
    statement = sa.select(Tenant.id).where(Tenant.name == name)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_tenant_by_name(session: AsyncSession, *, name: str) -> Tenant | None:
    """The tenant called `name`, if there is one."""
    statement = sa.select(Tenant).where(Tenant.name == name)
    return (await session.execute(statement)).scalar_one_or_none()


async def add_tenant(session: AsyncSession, *, name: str, now: datetime) -> int:
    """Inserts a tenant and returns its id."""
    tenant = Tenant(name=name, created_at=now)
    session.add(tenant)
    await session.flush()
    return tenant.id


async def add_token(
    session: AsyncSession,
    *,
    token_hash: str,
    prefix: str,
    tenant_id: int | None,
    now: datetime,
) -> ApiToken:
    """Inserts a token row (its hash and shown prefix only); no tenant: an admin token."""
    row = ApiToken(
        tenant_id=tenant_id,
        admin=tenant_id is None,
        token_hash=token_hash,
        prefix=prefix,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_token_by_hash(session: AsyncSession, *, token_hash: str) -> ApiToken | None:
    """The token row with this hash, revoked or not."""
    statement = sa.select(ApiToken).where(ApiToken.token_hash == token_hash)
    return (await session.execute(statement)).scalar_one_or_none()


async def find_tokens(
    session: AsyncSession, *, token_id: int | None = None, prefix: str | None = None
) -> Sequence[ApiToken]:
    """The token rows with this id, or with this shown prefix (at most two: enough to tell
    one from several)."""
    statement = sa.select(ApiToken).limit(2)
    if token_id is not None:
        statement = statement.where(ApiToken.id == token_id)
    if prefix is not None:
        statement = statement.where(ApiToken.prefix == prefix)
    return list((await session.execute(statement)).scalars())


async def list_tokens(session: AsyncSession) -> Sequence[tuple[ApiToken, str | None]]:
    """Every token row with its tenant's name (None for an admin token), oldest first."""
    statement = (
        sa.select(ApiToken, Tenant.name)
        .outerjoin(Tenant, Tenant.id == ApiToken.tenant_id)
        .order_by(ApiToken.id)
    )
    return [(row, name) for row, name in (await session.execute(statement)).all()]


async def live_token(session: AsyncSession, *, token_hash: str) -> tuple[int | None] | None:
    """`(tenant id,)` of the unrevoked token with this hash (None: an admin token), if there is
    one and its tenant is not disabled; None when there is no such token."""
    statement = (
        sa.select(ApiToken.tenant_id)
        .outerjoin(Tenant, Tenant.id == ApiToken.tenant_id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        .where(sa.or_(ApiToken.admin.is_(True), Tenant.disabled_at.is_(None)))
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0],)


async def mark_revoked(session: AsyncSession, *, row: ApiToken, now: datetime) -> None:
    """Sets the token's `revoked_at`."""
    row.revoked_at = now
    await session.flush()


async def end_session(
    session: AsyncSession, *, session_hash: str, now: datetime, forget_before: datetime
) -> None:
    """Records a dashboard session as ended (twice is harmless), and forgets the ended
    sessions whose cookies have expired anyway (ended before `forget_before`)."""
    await session.execute(sa.delete(EndedSession).where(EndedSession.ended_at < forget_before))
    found = await session.get(EndedSession, session_hash)
    if found is None:
        session.add(EndedSession(session_hash=session_hash, ended_at=now))
        await session.flush()


async def is_session_ended(session: AsyncSession, *, session_hash: str) -> bool:
    statement = sa.select(EndedSession.session_hash).where(
        EndedSession.session_hash == session_hash
    )
    return (await session.execute(statement)).first() is not None
