"""tombstone indexes: the purge after each full run reads only the tombstones

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 04:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOMBSTONES = "deleted_at IS NOT NULL"


def upgrade() -> None:
    for table in ("todo_lists", "todo_items"):
        op.create_index(
            f"ix_{table}_tombstones",
            table,
            ["tenant_id", "deleted_at"],
            sqlite_where=sa.text(_TOMBSTONES),
            postgresql_where=sa.text(_TOMBSTONES),
        )


def downgrade() -> None:
    for table in ("todo_lists", "todo_items"):
        op.drop_index(f"ix_{table}_tombstones", table_name=table)
