"""Each tenant's connection to its own external API account (the CLI's `todosync connections`).

The default tenant's connection takes its URL and token from the settings; any other is made
by `create_connection` with a URL and a token, kept encrypted (`tenancy.secrets`). One
connection per tenant for now (the schema would allow more). A disabled connection keeps its
data and books, and is neither scheduled nor run until enabled again.

Like every service it only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.auth import repository as auth_repository
from todosync.clock import iso_utc, utc_now
from todosync.config import Settings, SettingsError
from todosync.errors import ConflictError, NotFoundError, ValidationFailed
from todosync.external import transport
from todosync.external.target import Target
from todosync.store.models import DEFAULT_TENANT_ID, Connection, Tenant
from todosync.sync.books import runs
from todosync.tenancy import repository
from todosync.tenancy.secrets import SecretBox

__all__ = [
    "ConnectionInfo",
    "Runnable",
    "create_connection",
    "disable_connection",
    "enable_connection",
    "list_connections",
    "rotate_tokens",
    "runnable_connection",
    "set_token",
    "target_of",
]

DISABLED_REASON = "its connection was disabled"


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What `connections list` shows of a connection: never its token."""

    id: int
    tenant: str
    url: str | None  # None: the settings' TODOSYNC_EXTERNAL_API_URL
    has_token: bool
    interval_s: float | None
    created_at: datetime
    disabled_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "url": self.url,
            "from_settings": self.url is None,
            "has_token": self.has_token,
            "interval_seconds": self.interval_s,
            "created_at": iso_utc(self.created_at),
            "disabled_at": iso_utc(self.disabled_at) if self.disabled_at else None,
        }


async def create_connection(
    session: AsyncSession,
    *,
    box: SecretBox,
    tenant: str,
    url: str,
    token: SecretStr,
    interval_s: float | None = None,
) -> int:
    """The new connection's id. The tenant must exist (a typo must not pull an external
    account into a new tenant) and have no connection yet."""
    found = await auth_repository.get_tenant_by_name(session, name=tenant)
    if found is None:
        raise NotFoundError(f"no tenant {tenant}; create it with `todosync tenants create`")
    existing = await repository.connection_ids(session, tenant_id=found.id)
    if existing:
        raise ConflictError(
            f"tenant {tenant} already has connection {existing[0]} (one connection per tenant)"
        )
    try:
        checked = transport.check_base_url(
            url,
            url_source="--url",
            token_source="--token-file",  # noqa: S106 -- the option's name, not a token
        )
    except SettingsError as exc:
        raise ValidationFailed(str(exc)) from None
    if interval_s is not None and interval_s < 0:
        raise ValidationFailed("--interval: must be 0 (no periodic runs) or more")
    return await repository.add_connection(
        session,
        tenant_id=found.id,
        name=checked.host,
        url=url.rstrip("/"),
        token_ciphertext=box.encrypt(token) if token.get_secret_value() else None,
        interval_s=interval_s,
        now=utc_now(),
    )


async def list_connections(session: AsyncSession) -> list[ConnectionInfo]:
    return [
        ConnectionInfo(
            id=connection.id,
            tenant=tenant_name,
            url=connection.external_api_url,
            has_token=connection.token_ciphertext is not None,
            interval_s=connection.interval_s,
            created_at=connection.created_at,
            disabled_at=connection.disabled_at,
        )
        for connection, tenant_name in await repository.list_connections(session)
    ]


async def disable_connection(session: AsyncSession, *, connection_id: int) -> bool:
    """Disables the connection (False when it already was); its queued runs fail with the
    reason, a running one finishes."""
    connection = await _get(session, connection_id)
    if connection.disabled_at is not None:
        return False
    now = utc_now()
    await repository.set_connection_disabled(session, connection=connection, at=now)
    await runs.fail_queued_runs(
        session, connection_id=connection.id, reason=DISABLED_REASON, now=now
    )
    return True


async def enable_connection(session: AsyncSession, *, connection_id: int) -> bool:
    connection = await _get(session, connection_id)
    if connection.disabled_at is None:
        return False
    await repository.set_connection_disabled(session, connection=connection, at=None)
    return True


async def set_token(
    session: AsyncSession, *, box: SecretBox, connection_id: int, token: SecretStr
) -> None:
    """Replaces the connection's token (an empty one: no token is sent)."""
    connection = await _get(session, connection_id)
    if connection.external_api_url is None:
        raise ConflictError(
            f"connection {connection_id} takes its URL and token from the settings: set "
            f"{transport.TOKEN_SETTING} instead"
        )
    ciphertext = box.encrypt(token) if token.get_secret_value() else None
    await repository.set_token_ciphertext(session, connection=connection, ciphertext=ciphertext)


async def rotate_tokens(session: AsyncSession, *, box: SecretBox) -> int:
    """Encrypts every stored token again with the first key; returns how many. All or
    nothing: one that no key decrypts stops it (`UnreadableSecret`) before anything is
    written."""
    stored = await repository.stored_tokens(session)
    rotated = [(connection_id, box.rotate(ciphertext)) for connection_id, ciphertext in stored]
    await repository.put_token_ciphertexts(session, rotated)
    return len(rotated)


async def target_of(session: AsyncSession, *, connection_id: int, settings: Settings) -> Target:
    """Where the connection's external API is, with its token decrypted (the settings' for
    the default connection). `NoSecretKey` or `UnreadableSecret` when the token cannot be read."""
    connection = await _get(session, connection_id)
    if connection.external_api_url is None:
        return Target.from_settings(settings)
    token = None
    if connection.token_ciphertext is not None:
        token = SecretBox.from_settings(settings).decrypt(connection.token_ciphertext)
    return Target(
        url=connection.external_api_url,
        token=token,
        url_source=f"connection {connection_id}'s URL",
        token_source=f"connection {connection_id}'s token (`todosync connections set-token`)",
    )


@dataclass(frozen=True, slots=True)
class Runnable:
    """A connection that may run now, and whose tenant it is."""

    connection_id: int
    tenant_id: int


async def runnable_connection(session: AsyncSession, *, tenant: str | None) -> Runnable:
    """The connection of the tenant called `tenant` (None: the default tenant), when both are
    enabled; a clear error otherwise (`todosync sync --tenant` of a disabled one is refused)."""
    found: Tenant | None
    if tenant is None:
        found = await session.get(Tenant, DEFAULT_TENANT_ID)
    else:
        found = await auth_repository.get_tenant_by_name(session, name=tenant)
    if found is None:
        raise NotFoundError(f"no tenant {tenant}")
    tenant = found.name
    if found.disabled_at is not None:
        raise ConflictError(f"tenant {tenant} is disabled")
    ids = await repository.connection_ids(session, tenant_id=found.id)
    if not ids:
        raise ConflictError(
            f"tenant {tenant} has no connection; make one with `todosync connections create`"
        )
    connection = await _get(session, ids[0])
    if connection.disabled_at is not None:
        raise ConflictError(f"connection {connection.id} of tenant {tenant} is disabled")
    return Runnable(connection_id=connection.id, tenant_id=found.id)


async def _get(session: AsyncSession, connection_id: int) -> Connection:
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFoundError(f"no connection {connection_id}")
    return connection
