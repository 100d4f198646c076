"""`todosync verify`: compares both sides field by field, through the ledger, and reports drift.

Read-only on both sides: one pull, two local queries. The comparison itself is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.external.client import ExternalClient
from todosync.external.schemas import InvalidEntity, RemoteList
from todosync.sync.books import ledger
from todosync.sync.core import admit
from todosync.sync.core.fields import Fields
from todosync.sync.core.snapshot import LedgerRow, LocalRow

__all__ = ["Drift", "compare", "verify"]


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between the sides."""

    kind: str
    problem: str  # missing_remotely | missing_locally | field_differs | unreadable_remotely
    local_id: int | None = None
    external_id: str | None = None
    field: str | None = None
    reason: str | None = None  # why a remote entity could not be read (field names only)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def compare(
    local: Sequence[LocalRow],
    rows: Sequence[LedgerRow],
    remote: Sequence[RemoteList],
    unreadable: Sequence[InvalidEntity] = (),
) -> list[Drift]:
    """Every live entity on one side must map to an equal entity on the other; a remote entity
    that could not be read (quarantined by the sync) has no local twin, so it is drift too."""
    remote_fields: dict[tuple[str, str, str], Fields] = {}
    for rl in remote:
        remote_fields[("list", "", rl.id)] = {"name": rl.name}
        for ri in rl.items:
            remote_fields[("item", rl.id, ri.id)] = {
                "description": ri.description,
                "completed": ri.completed,
            }
    by_local = {(r.kind, r.local_id): r for r in rows}
    drift: list[Drift] = []
    matched: set[tuple[str, str, str]] = set()
    for row in local:
        mapped = by_local.get((row.kind, row.id))
        key: tuple[str, str, str] = ("", "", "")
        if mapped is not None:
            key = (row.kind, mapped.parent_external_id, mapped.external_id)
        if key not in remote_fields:
            drift.append(Drift(row.kind, "missing_remotely", local_id=row.id))
            continue
        matched.add(key)
        for name, value in row.fields.items():
            if remote_fields[key].get(name) != value:
                drift.append(Drift(row.kind, "field_differs", row.id, key[2], field=name))
    for key in remote_fields.keys() - matched:
        drift.append(Drift(key[0], "missing_locally", external_id=key[2]))
    for bad in unreadable:
        drift.append(
            Drift(bad.kind, "unreadable_remotely", external_id=bad.external_id, reason=bad.reason)
        )
    return drift


async def verify(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: ExternalClient,
    *,
    tenant_id: int,
    connection_id: int,
) -> list[Drift]:
    pull = admit.admit_pull(await client.pull())
    async with sessionmaker() as session:
        rows = await ledger.load_rows(session, connection_id=connection_id)
        local = await ledger.live_local_rows(session, tenant_id=tenant_id)
    return compare(local, rows, pull.lists, pull.invalid)
