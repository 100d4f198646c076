"""The Alembic history and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, pool

from todosync.db import engine as db_engine
from todosync.db import migrate, registry


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, registry.metadata()))


def test_models_match_the_alembic_head(database_url: str) -> None:
    """Autogenerate finds nothing to change after all migrations ran."""
    engine = create_engine(db_engine.sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            assert _diff(connection) == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    """A second upgrade leaves the database at the head revision."""
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == migrate.head_revision(database_url)
