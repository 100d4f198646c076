"""connections of their own: an encrypted external API token, an interval, a disabled time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todosync.db.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("token_ciphertext", sa.Text(), nullable=True))
        batch.add_column(sa.Column("interval_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("interval_s")
        batch.drop_column("token_ciphertext")
