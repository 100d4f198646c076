"""One run per connection at a time, enforced in the database by a lease row.

The holder renews `heartbeat_at` while it runs. A lease is taken over when its holder is known
to be dead (same host and the pid is gone) or its heartbeat is older than the TTL.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.sync.books.models import SyncLease

__all__ = [
    "Holder",
    "LeaseInfo",
    "acquire",
    "attach_run",
    "heartbeat",
    "is_reclaimable",
    "release",
]

_LEASES = cast(sa.Table, SyncLease.__table__)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease: this process, with a unique token per attempt."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    holder: str
    run_id: int | None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def acquire(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    connection_id: int,
    holder: Holder,
    ttl_s: float,
    run_id: int | None = None,
) -> LeaseInfo | None:
    """Takes the lease; None when taken, or the current holder's info when someone else has it."""
    try:
        return await _acquire(sessionmaker, connection_id, holder, ttl_s, run_id)
    except sa.exc.IntegrityError:
        # another process inserted its lease between our read and our write
        return LeaseInfo("another process", None)


async def _acquire(
    sessionmaker: async_sessionmaker[AsyncSession],
    connection_id: int,
    holder: Holder,
    ttl_s: float,
    run_id: int | None,
) -> LeaseInfo | None:
    now = utc_now()
    async with sessionmaker.begin() as session:
        current = (
            await session.execute(
                sa.select(SyncLease).where(_LEASES.c.connection_id == connection_id)
            )
        ).scalar_one_or_none()
        if current is not None and not is_reclaimable(
            host=current.host, pid=current.pid, heartbeat_at=current.heartbeat_at, ttl_s=ttl_s
        ):
            return LeaseInfo(current.holder, current.run_id)
        if current is not None:
            await session.delete(current)
            await session.flush()
        session.add(
            SyncLease(
                connection_id=connection_id,
                holder=holder.name,
                host=holder.host,
                pid=holder.pid,
                run_id=run_id,
                acquired_at=now,
                heartbeat_at=now,
            )
        )
    return None


def is_reclaimable(
    *, host: str, pid: int, heartbeat_at: datetime, ttl_s: float, now: datetime | None = None
) -> bool:
    """Whether a lease's holder is known dead (same host, pid gone) or silent past the TTL."""
    if host == socket.gethostname() and not _pid_alive(pid):
        # its holder died on this host: reclaim at once
        return True
    return heartbeat_at < (now or utc_now()) - timedelta(seconds=ttl_s)


async def attach_run(
    session: AsyncSession, *, connection_id: int, holder: Holder, run_id: int
) -> None:
    """Names the run that the lease's holder carries out (in the caller's transaction)."""
    await session.execute(
        sa.update(_LEASES)
        .where(_LEASES.c.connection_id == connection_id, _LEASES.c.holder == holder.name)
        .values(run_id=run_id)
    )


async def heartbeat(
    sessionmaker: async_sessionmaker[AsyncSession], *, connection_id: int, holder: Holder
) -> bool:
    """Renews the lease; False if it was lost (taken over after a stall)."""
    async with sessionmaker.begin() as session:
        result = await session.execute(
            sa.update(_LEASES)
            .where(_LEASES.c.connection_id == connection_id, _LEASES.c.holder == holder.name)
            .values(heartbeat_at=utc_now())
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(
    sessionmaker: async_sessionmaker[AsyncSession], *, connection_id: int, holder: Holder
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            sa.delete(_LEASES).where(
                _LEASES.c.connection_id == connection_id, _LEASES.c.holder == holder.name
            )
        )
