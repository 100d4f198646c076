"""In-memory views of the local rows and ledger rows that the planner reads. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from todosync.sync.core.fields import Fields, Kind, decode_snapshot

__all__ = ["LedgerRow", "LocalRow"]


@dataclass(frozen=True, slots=True)
class LocalRow:
    """A local list or item. `parent_id` is the list id of an item (None for a list)."""

    kind: Kind
    id: int
    uid: str
    parent_id: int | None
    fields: Fields
    version: int
    updated_at: datetime
    deleted_at: datetime | None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger entry: which local entity is which remote one, and what both last agreed on."""

    id: int
    kind: Kind
    local_id: int
    local_uid: str
    parent_local_id: int | None
    parent_external_id: str
    external_id: str
    content_hash: str
    snapshot_text: str
    local_version: int
    intent: str | None = None
    items_digest: str | None = None  # lists only: see `fields.list_digest`
    intent_data: dict[str, Any] | None = None

    def snapshot(self) -> Fields:
        return decode_snapshot(self.snapshot_text)

    @property
    def remote_key(self) -> tuple[str, str]:
        return (self.parent_external_id, self.external_id)
