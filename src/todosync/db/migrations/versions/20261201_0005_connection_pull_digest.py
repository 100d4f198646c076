"""connection pull digest: lets a run pass over a pull it has already seen whole

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL means "not known": the next run computes each list's digest and may record it
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("pull_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("pull_digest")
