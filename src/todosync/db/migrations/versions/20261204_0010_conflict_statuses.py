"""conflict statuses: room for `dismissed` and `obsolete` beside `open` and `resolved`

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 05:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # "dismissed" has nine characters. PostgreSQL widens a VARCHAR in place; SQLite (which
    # does not enforce the length) copies the small table so that the schema says the same.
    with op.batch_alter_table("sync_conflicts") as batch:
        batch.alter_column(
            "status", existing_type=sa.String(8), type_=sa.String(16), existing_nullable=False
        )


def downgrade() -> None:
    # the older code knows open and resolved only: a closed conflict reads as resolved there
    op.execute(
        "UPDATE sync_conflicts SET status = 'resolved' WHERE status IN ('dismissed', 'obsolete')"
    )
    with op.batch_alter_table("sync_conflicts") as batch:
        batch.alter_column(
            "status", existing_type=sa.String(16), type_=sa.String(8), existing_nullable=False
        )
