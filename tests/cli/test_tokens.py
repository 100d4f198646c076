"""`todosync tokens create|revoke` as subprocesses against the test database."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cli.runner import run_cli
from tests.fixtures.api import make_tenant_token
from todosync.auth import tokens
from todosync.store.models import DEFAULT_TENANT_ID, ApiToken, Tenant

TOKEN_LINE = re.compile(r"tds_[A-Za-z0-9_-]{43}\n")


def _tenant_of(blocking_engine: sa.Engine, token: str) -> tuple[int | None, bool]:
    """The stored token's tenant (None: an admin token) and whether it is revoked."""
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


def test_create_an_admin_token(
    database_url: str, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """`--admin` prints a token of no tenant, which `tokens list` shows as the admin's."""
    result = run_cli("tokens", "create", "--admin", database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert TOKEN_LINE.fullmatch(result.stdout), result.stdout
    assert _tenant_of(blocking_engine, result.stdout.strip()) == (None, False)
    listed = run_cli("tokens", "list", "--json", database_url=database_url, cwd=tmp_path)
    (entry,) = json.loads(listed.stdout)["data"]
    assert (entry["tenant"], entry["admin"]) == (None, True)
    assert result.stdout.strip() not in listed.stdout
    plain = run_cli("tokens", "list", database_url=database_url, cwd=tmp_path)
    assert "\t(admin)\t" in plain.stdout


def test_an_admin_token_has_no_tenant(database_url: str, tmp_path: Path) -> None:
    """`--admin` with `--tenant` is a usage error (exit 2): an admin token is no tenant's."""
    result = run_cli(
        "tokens", "create", "--admin", "--tenant", "acme", database_url=database_url, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--admin or --tenant" in result.stderr


def _revoke_from_stdin(
    token: str, *, database_url: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`tokens revoke --token-file -` with `token` on standard input."""
    args = ("tokens", "revoke", "--token-file", "-")
    return run_cli(*args, database_url=database_url, cwd=cwd, stdin=token)


async def test_revoke_by_file_or_stdin(
    database_url: str, engine: AsyncEngine, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """`tokens revoke --token-file` takes the token from a file or, with `-`, from stdin;
    an unknown token is exit code 1."""
    first, second = (await make_tenant_token(engine)).token, (await make_tenant_token(engine)).token
    (tmp_path / "token").write_text(first + "\n")
    by_file = run_cli(
        "tokens", "revoke", "--token-file", "token", database_url=database_url, cwd=tmp_path
    )
    assert by_file.returncode == 0, by_file.stderr
    assert by_file.stdout == ""
    assert _tenant_of(blocking_engine, first) == (DEFAULT_TENANT_ID, True)
    by_stdin = _revoke_from_stdin(second, database_url=database_url, cwd=tmp_path)
    assert by_stdin.returncode == 0, by_stdin.stderr
    assert _tenant_of(blocking_engine, second) == (DEFAULT_TENANT_ID, True)
    unknown = _revoke_from_stdin("tds_unknown", database_url=database_url, cwd=tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "todosync: error: unknown token"


async def test_revoke_by_id_or_prefix(
    database_url: str, engine: AsyncEngine, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """`tokens list` shows each token's id and prefix (never the token), and `tokens revoke`
    takes either; the list then shows it revoked."""
    first = run_cli("tokens", "create", database_url=database_url, cwd=tmp_path).stdout.strip()
    second = run_cli("tokens", "create", database_url=database_url, cwd=tmp_path).stdout.strip()
    listed = run_cli("tokens", "list", "--json", database_url=database_url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert first not in listed.stdout
    assert second not in listed.stdout
    rows = json.loads(listed.stdout)["data"]
    by_prefix = {row["prefix"]: row for row in rows}
    assert set(by_prefix) >= {first[:12], second[:12]}
    first_id = by_prefix[first[:12]]["id"]

    by_id = run_cli("tokens", "revoke", str(first_id), database_url=database_url, cwd=tmp_path)
    assert by_id.returncode == 0, by_id.stderr
    prefix = run_cli("tokens", "revoke", second[:12], database_url=database_url, cwd=tmp_path)
    assert prefix.returncode == 0, prefix.stderr
    assert _tenant_of(blocking_engine, first)[1]
    assert _tenant_of(blocking_engine, second)[1]
    relisted = run_cli("tokens", "list", database_url=database_url, cwd=tmp_path).stdout
    (line,) = [line for line in relisted.splitlines() if first[:12] in line]
    assert line.startswith(f"{first_id}\tdefault\t")
    assert "\trevoked " in line


async def test_a_token_as_an_argument_is_refused(
    database_url: str, engine: AsyncEngine, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """The secret itself as an argument is a usage error (exit 2) that does not repeat it,
    and the token stays live."""
    token = (await make_tenant_token(engine)).token
    result = run_cli("tokens", "revoke", token, database_url=database_url, cwd=tmp_path)
    assert result.returncode == 2
    assert token not in result.stderr
    assert "--token-file" in result.stderr
    assert _tenant_of(blocking_engine, token) == (DEFAULT_TENANT_ID, False)
