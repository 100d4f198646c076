"""Plain factories for the planner's inputs: remote entities, local rows and ledger rows.

Every factory takes the identity first and everything else by keyword, with defaults that
describe an entity both sides agree on ("Groceries" / "Buy milk", not completed). Local uids
are derived from the local id, so a test can name the uid of a row it has not built.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from todosync.external.schemas import InvalidEntity, RemoteItem, RemoteList
from todosync.sync.core.fields import Fields, Kind, content_hash, encode_snapshot
from todosync.sync.core.snapshot import LedgerRow, LocalRow

__all__ = [
    "T0",
    "invalid",
    "item_uid",
    "ledger_item",
    "ledger_list",
    "list_uid",
    "local_item",
    "local_list",
    "remote_item",
    "remote_list",
]

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

_UIDS = uuid.UUID("5d1c3a2e-8f0b-4c6e-9a7d-1b2c3d4e5f60")


def list_uid(local_id: int) -> str:
    """The uid of the local list with this id, as every factory here derives it."""
    return str(uuid.uuid5(_UIDS, f"list:{local_id}"))


def item_uid(local_id: int) -> str:
    """The uid of the local item with this id, as every factory here derives it."""
    return str(uuid.uuid5(_UIDS, f"item:{local_id}"))


# -- remote -------------------------------------------------------------------------------


def remote_item(
    id: str,
    description: str = "Buy milk",
    *,
    completed: bool = False,
    source_id: str | None = None,
    created_at: datetime | None = T0,
    updated_at: datetime | None = T0,
) -> RemoteItem:
    return RemoteItem(
        id=id,
        source_id=source_id,
        description=description,
        completed=completed,
        created_at=created_at,
        updated_at=updated_at,
    )


def remote_list(
    id: str,
    name: str = "Groceries",
    *,
    items: Iterable[RemoteItem] = (),
    source_id: str | None = None,
    created_at: datetime | None = T0,
    updated_at: datetime | None = T0,
) -> RemoteList:
    return RemoteList(
        id=id,
        source_id=source_id,
        name=name,
        created_at=created_at,
        updated_at=updated_at,
        items=tuple(items),
    )


def invalid(
    kind: Kind,
    external_id: str | None,
    *,
    list_external_id: str | None = None,
    reason: str = "description: expected str, got int",
    raw: Any = None,
) -> InvalidEntity:
    return InvalidEntity(
        kind=kind,
        external_id=external_id,
        list_external_id=list_external_id,
        reason=reason,
        raw=raw if raw is not None else {"id": external_id},
    )


# -- local --------------------------------------------------------------------------------


def local_list(
    id: int,
    name: str = "Groceries",
    *,
    uid: str | None = None,
    version: int = 2,
    updated_at: datetime = T0,
    deleted: bool = False,
) -> LocalRow:
    return LocalRow(
        kind="list",
        id=id,
        uid=uid if uid is not None else list_uid(id),
        parent_id=None,
        fields={"name": name},
        version=version,
        updated_at=updated_at,
        deleted_at=updated_at if deleted else None,
    )


def local_item(
    id: int,
    list_id: int,
    description: str = "Buy milk",
    *,
    completed: bool = False,
    uid: str | None = None,
    version: int = 2,
    updated_at: datetime = T0,
    deleted: bool = False,
) -> LocalRow:
    return LocalRow(
        kind="item",
        id=id,
        uid=uid if uid is not None else item_uid(id),
        parent_id=list_id,
        fields={"description": description, "completed": completed},
        version=version,
        updated_at=updated_at,
        deleted_at=updated_at if deleted else None,
    )


# -- ledger -------------------------------------------------------------------------------


def _ledger_row(
    id: int,
    kind: Kind,
    values: Fields,
    **columns: Any,
) -> LedgerRow:
    return LedgerRow(
        id=id,
        kind=kind,
        content_hash=content_hash(kind, values),
        snapshot_text=encode_snapshot(values),
        **columns,
    )


def ledger_list(
    id: int,
    *,
    local_id: int,
    external_id: str,
    name: str = "Groceries",
    local_uid: str | None = None,
    local_version: int = 1,
    intent: str | None = None,
    intent_data: dict[str, Any] | None = None,
) -> LedgerRow:
    return _ledger_row(
        id,
        "list",
        {"name": name},
        local_id=local_id,
        local_uid=local_uid if local_uid is not None else list_uid(local_id),
        parent_local_id=None,
        parent_external_id="",
        external_id=external_id,
        local_version=local_version,
        intent=intent,
        intent_data=intent_data,
    )


def ledger_item(
    id: int,
    *,
    local_id: int,
    list_local_id: int,
    list_external_id: str,
    external_id: str,
    description: str = "Buy milk",
    completed: bool = False,
    local_uid: str | None = None,
    local_version: int = 1,
) -> LedgerRow:
    return _ledger_row(
        id,
        "item",
        {"description": description, "completed": completed},
        local_id=local_id,
        local_uid=local_uid if local_uid is not None else item_uid(local_id),
        parent_local_id=list_local_id,
        parent_external_id=list_external_id,
        external_id=external_id,
        local_version=local_version,
    )
