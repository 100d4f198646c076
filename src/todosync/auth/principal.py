"""`Principal`: whom a live API token speaks for.

A tenant's token speaks for its tenant: it reads and writes that tenant's data and nothing
else. An admin token (`todosync tokens create --admin`) speaks for no tenant: it reads every
tenant's sync health (`/api/admin/...`, the dashboard's tenants page) and may not touch any
tenant's lists, items, runs, conflicts or quarantine (403).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ADMIN", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The tenant of a token, or None for an admin token (the database allows no other mix)."""

    tenant_id: int | None

    @property
    def admin(self) -> bool:
        return self.tenant_id is None


ADMIN = Principal(tenant_id=None)
