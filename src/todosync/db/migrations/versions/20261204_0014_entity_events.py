"""entity events: the append-only history of every list and item change (issue 17)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todosync.db.base import BigId, UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entity_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=True),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("actor_kind", sa.String(10), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("valid_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_entity_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_events")),
    )
    op.create_index(
        "ix_entity_events_entity", "entity_events", ["tenant_id", "kind", "entity_id", "id"]
    )
    op.create_index("ix_entity_events_list", "entity_events", ["tenant_id", "list_id", "entity_id"])
    op.create_index("ix_entity_events_recorded", "entity_events", ["tenant_id", "recorded_at"])


def downgrade() -> None:
    op.drop_table("entity_events")
