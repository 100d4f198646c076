"""admin tokens: a token of no tenant that reads every tenant's sync health, read-only

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 07:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todosync.db.base import BigId

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An admin token belongs to no tenant, and every other token to one: the database says so,
# so that no admin token can ever be read as the default tenant's (or any tenant's) token.
_ONE_OR_THE_OTHER = "(admin AND tenant_id IS NULL) OR (NOT admin AND tenant_id IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.alter_column("tenant_id", existing_type=BigId, nullable=True)
        batch.create_check_constraint("admin_has_no_tenant", _ONE_OR_THE_OTHER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM api_tokens WHERE admin"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("ck_api_tokens_admin_has_no_tenant"), type_="check")
        batch.alter_column("tenant_id", existing_type=BigId, nullable=False)
        batch.drop_column("admin")
