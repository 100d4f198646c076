"""Migration 0013 (admin tokens) on a SQLite file of its own: the database refuses a token
that is both or neither of admin and a tenant's, and the way down drops admin tokens only."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from todosync.db import migrate

_INSERT = sa.text(
    "INSERT INTO api_tokens (tenant_id, admin, token_hash, created_at) "
    "VALUES (:tenant_id, :admin, :token_hash, '2026-12-04 07:00:00')"
)


def test_admin_tokens_go_down_and_up_again(tmp_path: Path) -> None:
    """An admin token has no tenant and a tenant's token has one; downgrading keeps only the
    tenants' tokens, and upgrading again works."""
    url = f"sqlite:///{tmp_path / 'migrations.db'}"
    migrate.upgrade(url, revision="0013")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(_INSERT, {"tenant_id": None, "admin": True, "token_hash": "a"})
            connection.execute(_INSERT, {"tenant_id": 1, "admin": False, "token_hash": "t"})
        for tenant_id, admin in ((None, False), (1, True)):
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
                connection.execute(
                    _INSERT, {"tenant_id": tenant_id, "admin": admin, "token_hash": "x"}
                )
        command.downgrade(migrate.alembic_config(url), "0011")
        with engine.connect() as connection:
            left = connection.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars()
            assert list(left) == ["t"]
        migrate.upgrade(url, revision="0013")
        assert migrate.current_revision(url) == "0013"
    finally:
        engine.dispose()
