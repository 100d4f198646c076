"""`todosync tokens create|revoke` as subprocesses against the test database."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cli.runner import run_cli
from tests.fixtures.api import make_tenant_token
from todosync.auth import tokens
from todosync.store.models import DEFAULT_TENANT_ID, ApiToken, Tenant

TOKEN_LINE = re.compile(r"tds_[A-Za-z0-9_-]{43}\n")


def _tenant_of(blocking_engine: sa.Engine, token: str) -> tuple[int, bool]:
    """The stored token's tenant and whether it is revoked."""
    with blocking_engine.connect() as connection:
        row = connection.execute(
            sa.select(ApiToken.tenant_id, ApiToken.revoked_at).where(
                ApiToken.token_hash == tokens.hash_token(token)
            )
        ).one()
    return row.tenant_id, row.revoked_at is not None


def test_create_prints_the_token_alone(
    database_url: str, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """stdout is the token and a newline, nothing else; it belongs to the default tenant."""
    result = run_cli("tokens", "create", database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert TOKEN_LINE.fullmatch(result.stdout), result.stdout
    assert _tenant_of(blocking_engine, result.stdout.strip()) == (DEFAULT_TENANT_ID, False)


def test_create_for_a_new_tenant(
    database_url: str, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """`--tenant NAME` creates the tenant NAME for the new token (reuse: tests/auth)."""
    result = run_cli(
        "tokens", "create", "--tenant", "acme", database_url=database_url, cwd=tmp_path
    )
    assert TOKEN_LINE.fullmatch(result.stdout), result.stdout
    tenant_id, _ = _tenant_of(blocking_engine, result.stdout.strip())
    assert tenant_id != DEFAULT_TENANT_ID
    with blocking_engine.connect() as connection:
        names = connection.execute(sa.select(Tenant.name).where(Tenant.id == tenant_id))
        assert names.scalar_one() == "acme"


async def test_revoke(
    database_url: str, engine: AsyncEngine, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """`tokens revoke` marks the token revoked; an unknown token is exit code 1."""
    token = (await make_tenant_token(engine)).token
    result = run_cli("tokens", "revoke", token, database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert _tenant_of(blocking_engine, token) == (DEFAULT_TENANT_ID, True)
    unknown = run_cli("tokens", "revoke", "tds_unknown", database_url=database_url, cwd=tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "todosync: error: unknown token"
