"""token prefix: name a token in `tokens list` and `tokens revoke` without its secret

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 02:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("prefix", sa.String(16), nullable=True))
        batch.create_index(batch.f("ix_api_tokens_prefix"), ["prefix"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_prefix"))
        batch.drop_column("prefix")
