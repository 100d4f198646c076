"""Creating, revoking and checking API tokens. Like every service, it only flushes: the caller
(the CLI command or the request dependency) owns the transaction."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.auth import repository, tokens
from todosync.auth.cache import TokenCache
from todosync.auth.principal import Principal
from todosync.clock import utc_now
from todosync.errors import AuthenticationFailed, ValidationFailed
from todosync.store.models import DEFAULT_TENANT_ID, ApiToken

__all__ = [
    "MAX_TENANT_NAME_LENGTH",
    "Revoked",
    "TokenInfo",
    "authenticate",
    "authenticate_hash",
    "check_tenant_name",
    "create_token",
    "end_session",
    "is_session_ended",
    "list_tokens",
    "revoke_token",
    "revoke_token_named",
    "token_id",
]

MAX_TENANT_NAME_LENGTH = 200


class Revoked(enum.Enum):
    """What `revoke_token` did."""

    REVOKED = "revoked"
    ALREADY_REVOKED = "already revoked"
    UNKNOWN = "unknown"


async def create_token(
    session: AsyncSession, *, tenant: str | None = None, admin: bool = False
) -> str:
    """Creates a token for `tenant` (by name; created if new) or the default tenant; with
    `admin`, an admin token of no tenant (`auth.principal`).

    Returns the token itself, which is stored nowhere: the caller shows it once.
    """
    if admin and tenant is not None:
        raise ValidationFailed("an admin token belongs to no tenant: give --admin or --tenant")
    now = utc_now()
    tenant_id: int | None = None
    if not admin:
        tenant_id = DEFAULT_TENANT_ID if tenant is None else await _tenant_id(session, tenant)
    token = tokens.generate_token()
    await repository.add_token(
        session,
        token_hash=tokens.hash_token(token),
        prefix=tokens.shown_prefix(token),
        tenant_id=tenant_id,
        now=now,
    )
    return token


async def _tenant_id(session: AsyncSession, name: str) -> int:
    check_tenant_name(name)
    found = await repository.get_tenant_by_name(session, name=name)
    if found is not None and found.disabled_at is not None:
        raise ValidationFailed(f"tenant {name} is disabled: its tokens would not work")
    if found is not None:
        return found.id
    return await repository.add_tenant(session, name=name, now=utc_now())


def check_tenant_name(name: str) -> None:
    """`ValidationFailed` unless `name` can name a tenant."""
    if not name.strip() or len(name) > MAX_TENANT_NAME_LENGTH:
        raise ValidationFailed(f"a tenant name has 1 to {MAX_TENANT_NAME_LENGTH} characters")


async def revoke_token(session: AsyncSession, *, token: str) -> Revoked:
    """Marks the token revoked; revoking twice is harmless."""
    row = await repository.get_token_by_hash(session, token_hash=tokens.hash_token(token))
    return await _revoke(session, row)


async def revoke_token_named(session: AsyncSession, *, name: str) -> Revoked:
    """Like `revoke_token`, for a token named by its id or its shown prefix (`tokens list`);
    `ValidationFailed` when a prefix names several tokens."""
    if name.isdigit():
        found = await repository.find_tokens(session, token_id=int(name))
    else:
        found = await repository.find_tokens(session, prefix=name)
    if len(found) > 1:
        raise ValidationFailed(f"the prefix {name} names several tokens: give the token's id")
    return await _revoke(session, found[0] if found else None)


async def _revoke(session: AsyncSession, row: ApiToken | None) -> Revoked:
    if row is None:
        return Revoked.UNKNOWN
    if row.revoked_at is not None:
        return Revoked.ALREADY_REVOKED
    await repository.mark_revoked(session, row=row, now=utc_now())
    return Revoked.REVOKED


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of a token: never the token, nor its hash."""

    id: int
    tenant: str | None  # None: an admin token
    prefix: str | None
    created_at: datetime
    revoked_at: datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "admin": self.tenant is None,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


async def list_tokens(session: AsyncSession) -> list[TokenInfo]:
    """Every token, oldest first, as `TokenInfo`."""
    return [
        TokenInfo(
            id=row.id,
            tenant=tenant,
            prefix=row.prefix,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row, tenant in await repository.list_tokens(session)
    ]


async def authenticate(
    session: AsyncSession, *, token: str, cache: TokenCache[Principal] | None = None
) -> Principal:
    """Whom a live token speaks for; `AuthenticationFailed` for an unknown or revoked one.

    With `cache`, a token found live within the cache's TTL is not looked up again (so a
    revoked token may work for up to that TTL more; see `auth.cache`).
    """
    if len(token) > tokens.MAX_TOKEN_LENGTH:
        raise AuthenticationFailed("the API token is unknown or revoked")
    token_hash = tokens.hash_token(token)
    if cache is not None:
        cached = cache.get(token_hash)
        if cached is not None:
            return cached
    principal = await authenticate_hash(session, token_hash=token_hash)
    if cache is not None:
        cache.put(token_hash, principal)
    return principal


async def token_id(session: AsyncSession, *, token: str) -> int | None:
    """The id of the token's row (revoked or not), or None for an unknown token: what the
    history records as the actor of an API write."""
    if len(token) > tokens.MAX_TOKEN_LENGTH:
        return None
    row = await repository.get_token_by_hash(session, token_hash=tokens.hash_token(token))
    return None if row is None else row.id


async def authenticate_hash(session: AsyncSession, *, token_hash: str) -> Principal:
    """Like `authenticate`, for a token known by its hash: the dashboard's session keeps the
    hash (never the token), so that revoking the token also ends the session."""
    found = await repository.live_token(session, token_hash=token_hash)
    if found is None:
        raise AuthenticationFailed("the API token is unknown or revoked")
    return Principal(tenant_id=found[0])


async def end_session(session: AsyncSession, *, session_id: str, lifetime_s: float) -> None:
    """Ends a dashboard session server-side: its cookie, replayed, is refused from now on.
    Remembered for `lifetime_s` (the sessions' absolute lifetime), after which it is void."""
    now = utc_now()
    await repository.end_session(
        session,
        session_hash=tokens.hash_token(session_id),
        now=now,
        forget_before=now - timedelta(seconds=lifetime_s),
    )


async def is_session_ended(session: AsyncSession, *, session_id: str) -> bool:
    """Whether the dashboard session was signed out."""
    return await repository.is_session_ended(session, session_hash=tokens.hash_token(session_id))
