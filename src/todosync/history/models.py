"""The append-only event table: one row per change of a list or item (see the package doc)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from todosync.db.base import Base, BigId, UTCDateTime

__all__ = ["EntityEvent"]


class EntityEvent(Base):
    """One change of one entity. Rows are only ever inserted, and deleted by retention."""

    __tablename__ = "entity_events"
    __table_args__ = (
        # one entity's versions, and the fold of one list or of all a tenant's lists
        Index("ix_entity_events_entity", "tenant_id", "kind", "entity_id", "id"),
        # the items of one list (as_of reads of a list's items)
        Index("ix_entity_events_list", "tenant_id", "list_id", "entity_id"),
        # retention reads the oldest events first
        Index("ix_entity_events_recorded", "tenant_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # list | item
    # no foreign key: purged tombstones keep their history
    entity_id: Mapped[int] = mapped_column(BigInteger)
    list_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # an item's list
    operation: Mapped[str] = mapped_column(String(10))  # created|updated|deleted|restored|baseline
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    actor_kind: Mapped[str] = mapped_column(String(10))  # api | sync | conflict | retention
    actor_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    valid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
