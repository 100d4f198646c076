"""What `todosync quarantine list|replay` does, over the same service functions as the API
(`sync.service`), each in one transaction of its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from todosync import runtime
from todosync.config import Settings
from todosync.sync import service
from todosync.sync.schemas import QuarantineOut
from todosync.tenancy import service as tenancy

__all__ = ["describe", "list_all", "replay"]

_PAGE = 200


async def list_all(settings: Settings, *, tenant: str | None = None) -> list[Any]:
    """Every quarantined entity of the tenant called `tenant` (None: the default tenant),
    oldest first, as the API shows them (JSON-ready)."""

    async def work(session: AsyncSession) -> list[Any]:
        tenant_id = await tenancy.tenant_id_named(session, tenant)
        found: list[Any] = []
        after = 0
        while True:
            page = await service.list_quarantine(
                session, tenant_id=tenant_id, after_id=after, limit=_PAGE
            )
            found += [QuarantineOut.of(row).model_dump(mode="json") for row in page.rows]
            if page.last_id is None:
                return found
            after = page.last_id

    return await runtime.in_transaction(settings, work)


async def replay(
    settings: Settings, *, quarantine_id: int | None, tenant: str | None = None
) -> int:
    """Releases one quarantined entity of the tenant (NotFoundError if unknown), or all of
    them when `quarantine_id` is None, for the next run; returns how many."""

    async def work(session: AsyncSession) -> int:
        tenant_id = await tenancy.tenant_id_named(session, tenant)
        if quarantine_id is None:
            return await service.replay_all_quarantined(session, tenant_id=tenant_id)
        await service.replay_quarantined(session, quarantine_id, tenant_id=tenant_id)
        return 1

    return await runtime.in_transaction(settings, work)


def describe(entry: dict[str, Any]) -> str:
    """One line per entity: id, entity, ids, attempts, next retry, reason (no user text)."""
    external = entry["external_id"] or "-"
    local = entry["local_id"] if entry["local_id"] is not None else "-"
    retry = entry["next_retry_at"] or "-"
    return (
        f"{entry['id']} {entry['entity']} external={external} local={local} "
        f"attempts={entry['attempts']} next_retry_at={retry} reason={entry['reason']}"
    )
