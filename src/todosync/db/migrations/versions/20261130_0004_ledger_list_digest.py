"""ledger list digest: lets a run pass over unchanged lists without reading their items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL means "not known": the next run compares the list item by item and records it
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("items_digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("items_digest")
