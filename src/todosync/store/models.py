"""Tables of the store. Lists and items are soft-deleted: `deleted_at` marks a tombstone
that the sync engine propagates before it is purged."""

from __future__ import annotations

from datetime import datetime

import uuid_utils
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from todosync.clock import utc_now
from todosync.db.base import Base, BigId, UTCDateTime

__all__ = ["ApiToken", "Connection", "EndedSession", "Tenant", "TodoItem", "TodoList"]

DEFAULT_TENANT_ID = 1
DEFAULT_CONNECTION_ID = 1
MAX_NAME_LENGTH = 1_000
MAX_DESCRIPTION_LENGTH = 10_000


def new_uid() -> str:
    # UUIDv7: time-ordered, so the unique indexes on `uid` and on the ledger's `local_uid`
    # grow at their end as a bulk import writes, instead of at random pages (SQLite: 100k
    # rows into both indexes in 0.6 s instead of 1.7 s); the Rust generator is also ~10x
    # faster than `uuid.uuid4()`. Any UUID satisfies DESIGN's "a UUID string".
    return str(uuid_utils.uuid7())


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # set by `todosync tenants disable`: its tokens stop working, its connections stop
    # syncing, its data stays
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ApiToken(Base):
    """A bearer token for the local API. Only its SHA-256 is stored.

    A tenant's token reads and writes that tenant's data; an admin token (`admin`, no tenant)
    reads every tenant's sync health and nothing of their lists and items."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(
            "(admin AND tenant_id IS NULL) OR (NOT admin AND tenant_id IS NOT NULL)",
            name="admin_has_no_tenant",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters (`tds_` and 8 more): enough to name it in `tokens list`
    # and `tokens revoke`, far too few to use it. None for tokens made before it was kept.
    prefix: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class EndedSession(Base):
    """A dashboard session signed out before its cookie expired: its cookie is refused from
    then on. Kept until the session's absolute lifetime would have ended it anyway."""

    __tablename__ = "ended_sessions"

    # SHA-256 of the session id that the signed cookie carries
    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Connection(Base):
    """One tenant's link to one external API; sync state hangs off it."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # None means "the URL and token from settings" (the default connection).
    external_api_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # The external API token, encrypted (`tenancy.secrets`); None: no token is sent.
    token_ciphertext: Mapped[str | None] = mapped_column(Text, default=None)
    # Seconds between periodic runs; None: SYNC_INTERVAL_SECONDS, 0: no periodic runs.
    interval_s: Mapped[float | None] = mapped_column(Float, default=None)
    # A disabled connection keeps its data and books but is neither scheduled nor run.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # The `PullResult.body_digest` of a pull that every recorded list digest agrees with
    # (see `sync.settle`); None when unknown.
    pull_digest: Mapped[str | None] = mapped_column(String(64), default=None)


class TodoList(Base):
    __tablename__ = "todo_lists"
    __table_args__ = (
        Index(
            "ix_todo_lists_tenant_live",
            "tenant_id",
            "id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # tombstones only: every full sync run looks for those old enough to purge
        Index(
            "ix_todo_lists_tombstones",
            "tenant_id",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class TodoItem(Base):
    __tablename__ = "todo_items"
    __table_args__ = (
        Index(
            "ix_todo_items_list_live",
            "list_id",
            "id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_todo_items_tombstones",
            "tenant_id",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("todo_lists.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(Text)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
