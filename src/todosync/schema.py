"""The whole schema of a database, brought up to date: our tables (Alembic migrations, in
`db.migrate`) and, on PostgreSQL, the distributed mode's job queue (`jobs.queue`, its own
schema). `todosync db upgrade` and `todosync demo` run this; the layers below know nothing of
each other (`db` is the lowest, `jobs` sits above it)."""

from __future__ import annotations

from todosync.db import migrate
from todosync.jobs import queue

__all__ = ["upgrade"]


def upgrade(database_url: str) -> None:
    """Migrates the database to the newest revision (a no-op when it is there already) and,
    on PostgreSQL, installs or upgrades the job queue (idempotent)."""
    migrate.upgrade(database_url)
    queue.install_schema(database_url)
