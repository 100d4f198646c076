"""Connections of their own: one per tenant, tokens encrypted at rest, rotation, disabling."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.store import queue_plain_run
from todosync import config
from todosync.errors import ConflictError, NotFoundError, ValidationFailed
from todosync.store.models import DEFAULT_TENANT_ID, Connection
from todosync.sync.books.models import SyncRun
from todosync.tenancy import connections, service
from todosync.tenancy.clients import ConnectionClients
from todosync.tenancy.secrets import NoSecretKey, SecretBox, UnreadableSecret, new_key

TOKEN = SecretStr("acme-external-token-1234")


def _settings(database_url: str, *keys: str) -> config.Settings:
    return config.Settings(database_url=database_url, secret_key=SecretStr(",".join(keys)))


async def _acme(session: AsyncSession, box: SecretBox, *, interval_s: float | None = None) -> int:
    await service.create_tenant(session, name="acme")
    return await connections.create_connection(
        session,
        box=box,
        tenant="acme",
        url="http://127.0.0.1:9100/",
        token=TOKEN,
        interval_s=interval_s,
    )


async def test_a_token_is_stored_encrypted_and_read_back_for_the_client(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """The column holds a ciphertext, never the token; `target_of` decrypts it, and names
    where the token is set instead of showing it."""
    settings = _settings(database_url, new_key())
    async with sessionmaker.begin() as session:
        connection_id = await _acme(session, SecretBox.from_settings(settings), interval_s=30)
    async with sessionmaker() as session:
        stored = await session.get(Connection, connection_id)
        assert stored is not None
        assert stored.token_ciphertext is not None
        assert TOKEN.get_secret_value() not in stored.token_ciphertext
        assert (stored.external_api_url, stored.interval_s) == ("http://127.0.0.1:9100", 30)
        target = await connections.target_of(
            session, connection_id=connection_id, settings=settings
        )
    assert target.token == TOKEN
    assert target.url == "http://127.0.0.1:9100"
    assert TOKEN.get_secret_value() not in repr(target)
    assert f"connection {connection_id}" in target.token_source


async def test_the_default_connection_keeps_the_settings_url_and_token(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    settings = config.Settings(
        database_url=database_url,
        external_api_url="http://127.0.0.1:9200",
        external_api_token=SecretStr("from-settings"),
    )
    async with sessionmaker() as session:
        target = await connections.target_of(session, connection_id=1, settings=settings)
    assert (target.url, target.token) == ("http://127.0.0.1:9200", SecretStr("from-settings"))


async def test_one_connection_per_tenant_and_only_for_a_tenant_that_exists(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    box = SecretBox.from_settings(_settings(database_url, new_key()))
    async with sessionmaker.begin() as session:
        connection_id = await _acme(session, box)
        with pytest.raises(ConflictError, match=f"already has connection {connection_id}"):
            await connections.create_connection(
                session, box=box, tenant="acme", url="http://127.0.0.1:1", token=TOKEN
            )
        with pytest.raises(ConflictError, match="already has connection 1"):
            await connections.create_connection(
                session, box=box, tenant="default", url="http://127.0.0.1:1", token=TOKEN
            )
        with pytest.raises(NotFoundError, match="no tenant typo"):
            await connections.create_connection(
                session, box=box, tenant="typo", url="http://127.0.0.1:1", token=TOKEN
            )
        await service.create_tenant(session, name="remote")
        with pytest.raises(ValidationFailed, match="--url: must use https://"):
            await connections.create_connection(
                session, box=box, tenant="remote", url="http://example.com", token=TOKEN
            )


async def test_no_key_no_token_and_a_removed_key_is_a_clear_error(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    old = new_key()
    async with sessionmaker.begin() as session:
        connection_id = await _acme(session, SecretBox.from_settings(_settings(database_url, old)))
    with pytest.raises(NoSecretKey, match="TODOSYNC_SECRET_KEY is not set"):
        SecretBox.from_settings(config.Settings(database_url=database_url))
    async with sessionmaker() as session:
        with pytest.raises(UnreadableSecret, match="cannot be decrypted"):
            await connections.target_of(
                session,
                connection_id=connection_id,
                settings=_settings(database_url, new_key()),
            )


async def test_rotation_encrypts_every_token_with_the_new_key(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """New key first, rotate: the token reads with the new key alone, and the ciphertext
    changed; a rotation that meets a token no key reads writes nothing."""
    old, new = new_key(), new_key()
    async with sessionmaker.begin() as session:
        connection_id = await _acme(session, SecretBox.from_settings(_settings(database_url, old)))
        before = (await session.get(Connection, connection_id)).token_ciphertext  # type: ignore[union-attr]
    async with sessionmaker.begin() as session:
        box = SecretBox.from_settings(_settings(database_url, new, old))
        assert await connections.rotate_tokens(session, box=box) == 1
    async with sessionmaker() as session:
        target = await connections.target_of(
            session, connection_id=connection_id, settings=_settings(database_url, new)
        )
        after = (await session.get(Connection, connection_id)).token_ciphertext  # type: ignore[union-attr]
    assert target.token == TOKEN
    assert after != before
    async with sessionmaker.begin() as session:
        with pytest.raises(UnreadableSecret):
            await connections.rotate_tokens(
                session, box=SecretBox.from_settings(_settings(database_url, old))
            )
    async with sessionmaker() as session:
        unchanged = (await session.get(Connection, connection_id)).token_ciphertext  # type: ignore[union-attr]
    assert unchanged == after


async def test_a_disabled_connection_fails_its_queued_runs_and_takes_no_new_one(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        run = await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=60)
        assert await connections.disable_connection(session, connection_id=1)
        assert not await connections.disable_connection(session, connection_id=1)
    async with sessionmaker() as session:
        failed = (
            await session.execute(sa.select(SyncRun).where(SyncRun.id == run.id))
        ).scalar_one()
        assert (failed.status, failed.reason) == ("failed", "its connection was disabled")
        with pytest.raises(ConflictError, match="connection is disabled"):
            await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=0)
        with pytest.raises(ConflictError, match="connection 1 of tenant default is disabled"):
            await connections.runnable_connection(session, tenant=None)
    async with sessionmaker.begin() as session:
        assert await connections.enable_connection(session, connection_id=1)
        found = await connections.runnable_connection(session, tenant="default")
    assert (found.connection_id, found.tenant_id) == (1, DEFAULT_TENANT_ID)


async def test_the_settings_connection_takes_no_stored_token(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    box = SecretBox.from_settings(_settings(database_url, new_key()))
    async with sessionmaker() as session:
        with pytest.raises(ConflictError, match="TODOSYNC_EXTERNAL_API_TOKEN"):
            await connections.set_token(session, box=box, connection_id=1, token=TOKEN)
        with pytest.raises(NotFoundError, match="no connection 999"):
            await connections.set_token(session, box=box, connection_id=999, token=TOKEN)


async def test_a_new_token_gets_a_new_client_and_the_old_one_closes_once_no_run_holds_it(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """After `set-token` the next run gets a client with the new token; the old client stays
    open while a run still holds it and is closed when that run gives it back (or at once
    when no run holds it), so a long-lived process keeps no pool per token change."""
    settings = _settings(database_url, new_key())
    box = SecretBox.from_settings(settings)
    async with sessionmaker.begin() as session:
        connection_id = await _acme(session, box)

    async def new_token(token: str) -> None:
        async with sessionmaker.begin() as session:
            await connections.set_token(
                session, box=box, connection_id=connection_id, token=SecretStr(token)
            )

    clients = ConnectionClients(settings=settings, sessionmaker=sessionmaker)
    try:
        async with clients.lend(connection_id) as first:
            await new_token("acme-external-token-5678")
            async with clients.lend(connection_id) as second:
                assert second is not first
                assert not first.closed  # the first run still holds it
            assert not second.closed  # the current client stays for the next run
        assert first.closed
        async with clients.lend(connection_id) as again:
            assert again is second
        await new_token("acme-external-token-9012")
        async with clients.lend(connection_id) as third:
            assert third is not second
            assert second.closed  # nobody held it: closed when replaced
    finally:
        await clients.aclose()
    assert third.closed
