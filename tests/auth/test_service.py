"""API tokens: only hashes are stored; create, revoke and authenticate."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.auth import service, tokens
from todosync.errors import AuthenticationFailed, ValidationFailed
from todosync.store.models import DEFAULT_TENANT_ID, ApiToken, Tenant


async def test_only_the_hash_is_stored(session: AsyncSession) -> None:
    """The database holds the token's SHA-256, never the token."""
    token = await service.create_token(session)
    await session.commit()
    stored = (await session.execute(sa.select(ApiToken.token_hash))).scalars().all()
    assert stored == [tokens.hash_token(token)]
    assert token not in stored
    assert re.fullmatch(r"tds_[A-Za-z0-9_-]{43}", token)
    await session.rollback()


async def test_default_tenant_and_new_tenants(session: AsyncSession) -> None:
    """No name means tenant 1; a new name creates a tenant once and is reused after."""
    default = await service.authenticate(session, token=await service.create_token(session))
    first = await service.authenticate(
        session, token=await service.create_token(session, tenant="acme")
    )
    second = await service.authenticate(
        session, token=await service.create_token(session, tenant="acme")
    )
    named_default = await service.authenticate(
        session, token=await service.create_token(session, tenant="default")
    )
    assert default.tenant_id == named_default.tenant_id == DEFAULT_TENANT_ID
    assert first.tenant_id == second.tenant_id != DEFAULT_TENANT_ID
    names = (await session.execute(sa.select(Tenant.name).order_by(Tenant.id))).scalars().all()
    assert names == ["default", "acme"]
    await session.rollback()


async def test_revoke(session: AsyncSession) -> None:
    """A revoked token no longer authenticates; revoking again or an unknown token is reported."""
    token = await service.create_token(session)
    assert await service.revoke_token(session, token=token) is service.Revoked.REVOKED
    assert await service.revoke_token(session, token=token) is service.Revoked.ALREADY_REVOKED
    assert await service.revoke_token(session, token="tds_nope") is service.Revoked.UNKNOWN
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(session, token=token)
    await session.rollback()


async def test_unknown_token_is_refused(session: AsyncSession) -> None:
    """A token that was never issued fails authentication."""
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(session, token=tokens.generate_token())
    await session.rollback()


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_bad_tenant_names(session: AsyncSession, name: str) -> None:
    """A blank or overlong tenant name is refused."""
    with pytest.raises(ValidationFailed):
        await service.create_token(session, tenant=name)
    await session.rollback()


def test_tokens_are_unique_and_hashes_fixed_length() -> None:
    """Generated tokens differ; every hash is 64 hex digits."""
    made = {tokens.generate_token() for _ in range(100)}
    assert len(made) == 100
    assert all(re.fullmatch(r"[0-9a-f]{64}", tokens.hash_token(token)) for token in made)
