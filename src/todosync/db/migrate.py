"""Applies Alembic migrations from code (`todosync db upgrade`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from todosync.db.engine import sync_url

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("todosync.db") / "migrations"))
    config.set_main_option(
        "sqlalchemy.url", sync_url(database_url).render_as_string(hide_password=False)
    )
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(database_url: str, *, revision: str = "head") -> None:
    """Migrates our tables to `revision`; a no-op when they are already there (the job queue's
    schema is `todosync.schema.upgrade`'s other half)."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The database's revision; None for an empty database, or a SQLite file that does not
    exist (left so: a check must not create the file it checks)."""
    url = sync_url(database_url)
    path = url.database if url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        return None
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
