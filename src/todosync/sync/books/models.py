"""Tables of the sync engine: the ledger, runs, per-entity log, conflicts, quarantine, leases.

Every row belongs to a connection (one tenant's link to one external API).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from todosync.clock import utc_now
from todosync.db.base import Base, BigId, UTCDateTime

__all__ = [
    "SyncConflict",
    "SyncLease",
    "SyncLog",
    "SyncQuarantine",
    "SyncRun",
    "SyncSchedule",
    "SyncState",
]

_CONNECTION_FK = "connections.id"


class SyncState(Base):
    """The ledger: one row per entity known on both sides, with the last-agreed content.

    Items are keyed by their list's external id too, because the external API only promises
    that an item id is unique within its list.
    """

    __tablename__ = "sync_state"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "parent_external_id", "external_id"),
        UniqueConstraint("connection_id", "kind", "local_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(_CONNECTION_FK, ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    local_id: Mapped[int] = mapped_column(BigId)
    local_uid: Mapped[str] = mapped_column(String(36), index=True)
    # The list's ids for an item; "" and None for a list.
    parent_external_id: Mapped[str] = mapped_column(String(500), default="")
    parent_local_id: Mapped[int | None] = mapped_column(BigId, default=None)
    external_id: Mapped[str] = mapped_column(String(500))
    snapshot: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(32))
    local_version: Mapped[int] = mapped_column(Integer)
    remote_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # A multi-step remote change in flight (e.g. a list re-create), written before it starts.
    intent: Mapped[str | None] = mapped_column(String(16), default=None)
    intent_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # A list's `fields.list_digest` as last agreed, with all its items; None when unknown
    # (never for items). A run skips the items of a list whose pulled digest equals it.
    items_digest: Mapped[str | None] = mapped_column(String(32), default=None)


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connection_started", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(_CONNECTION_FK, ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_mass_delete: Mapped[bool] = mapped_column(Boolean, default=False)
    restore_remote: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    list_id: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    clock_skew_s: Mapped[float | None] = mapped_column(Float, default=None)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    plan: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)


class SyncLog(Base):
    """One entry per entity that a run touched (or failed to touch)."""

    __tablename__ = "sync_log"
    __table_args__ = (
        Index("ix_sync_log_entity", "connection_id", "kind", "local_id"),
        Index("ix_sync_log_run", "run_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(_CONNECTION_FK, ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    kind: Mapped[str] = mapped_column(String(8))
    local_id: Mapped[int | None] = mapped_column(BigId, default=None)
    external_id: Mapped[str | None] = mapped_column(String(500), default=None)
    action: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(8))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(8), default="ok")
    reason: Mapped[str | None] = mapped_column(Text, default=None)


class SyncConflict(Base):
    """One field changed on both sides, decided by last-write-wins and kept for review."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_status", "connection_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(_CONNECTION_FK, ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(8))
    local_id: Mapped[int] = mapped_column(BigId)
    field: Mapped[str] = mapped_column(String(32))
    base: Mapped[Any] = mapped_column(JSON, nullable=True)
    local: Mapped[Any] = mapped_column(JSON, nullable=True)
    remote: Mapped[Any] = mapped_column(JSON, nullable=True)
    winner: Mapped[str] = mapped_column(String(8))
    skew_s: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # a ConflictStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # when it was closed (resolved, dismissed or obsolete), and how: see `sync.service`
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class SyncQuarantine(Base):
    """A remote entity that failed validation, or an action that kept failing (dead letter)."""

    __tablename__ = "sync_quarantine"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "parent_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(_CONNECTION_FK, ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    parent_external_id: Mapped[str] = mapped_column(String(500), default="")
    external_id: Mapped[str] = mapped_column(String(500), default="")
    local_id: Mapped[int | None] = mapped_column(BigId, default=None)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SyncLease(Base):
    """At most one run per connection: the holder renews `heartbeat_at` while it runs."""

    __tablename__ = "sync_leases"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey(_CONNECTION_FK, ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(BigId, default=None)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SyncSchedule(Base):
    """The periodic scheduler's next run of a connection, kept in the database so that the
    status (in any process) can show it; a periodic run is queued only when it comes due."""

    __tablename__ = "sync_schedules"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey(_CONNECTION_FK, ondelete="CASCADE"), primary_key=True
    )
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The interval that led to `next_run_at` (it varies in adaptive mode).
    interval_s: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
