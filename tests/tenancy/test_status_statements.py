"""The metrics scrape and the admin overview read every connection's status together: the
same statements for two tenants or six, and each connection still gets its own figures."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.statements import sent_statements
from todosync.db.page import Page
from todosync.observe import metrics
from todosync.store import service as store_service
from todosync.store.models import Connection
from todosync.sync.books.models import SyncRun
from todosync.tenancy import overview
from todosync.tenancy import service as tenancy_service


async def _add_tenants(session: AsyncSession, *, first: int, count: int) -> None:
    """Tenants `t<n>`, each with a connection, a finished run (`ok` for even n, `failed` for
    odd) and n lists not yet pushed."""
    for number in range(first, first + count):
        tenant_id = await tenancy_service.create_tenant(session, name=f"t{number}")
        connection = Connection(tenant_id=tenant_id, name=f"t{number}")
        session.add(connection)
        await session.flush()
        status = "ok" if number % 2 == 0 else "failed"
        session.add(
            SyncRun(
                connection_id=connection.id,
                trigger="cli",
                status=status,
                dry_run=False,
                counts={},
                errors=[],
            )
        )
        for n in range(number):
            await store_service.create_list(session, tenant_id=tenant_id, name=f"list {n}")
    await session.flush()
    await session.execute(sa.update(SyncRun).values(finished_at=SyncRun.created_at))
    await session.commit()


async def _read_both(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[int, metrics.Snapshot, Page[overview.ConnectionHealth]]:
    async with sessionmaker() as session:
        with sent_statements(engine) as sent:
            snapshot = await metrics.read_snapshot(session, labelled=100)
            page = await overview.page_connections(session, after_id=0, limit=100)
    return len(sent), snapshot, page


async def test_the_scrape_and_the_overview_do_not_grow_with_the_connections(
    engine: AsyncEngine, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _add_tenants(session, first=1, count=2)
    few, _, _ = await _read_both(engine, sessionmaker)
    await _add_tenants(session, first=3, count=4)
    many, snapshot, page = await _read_both(engine, sessionmaker)
    assert many == few

    by_tenant = {row.tenant: row for row in page.rows}
    assert {f"t{n}" for n in range(1, 7)} <= set(by_tenant)
    for number in range(1, 7):
        row = by_tenant[f"t{number}"]
        assert row.status.pending_changes == number
        assert row.status.last_run is not None
        assert row.status.last_run.status == ("ok" if number % 2 == 0 else "failed")
        assert (row.status.last_success_at is None) == (number % 2 == 1)
        figures = snapshot.per_connection[row.id]
        assert (figures.pending_changes, figures.last_status) == (
            number,
            row.status.last_run.status,
        )
    assert snapshot.pending_changes == sum(range(1, 7))
