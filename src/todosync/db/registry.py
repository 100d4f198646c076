"""Imports every model module so that the metadata is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from todosync.db.base import Base

__all__ = ["metadata"]


def metadata() -> MetaData:
    import todosync.history.models
    import todosync.store.models
    import todosync.sync.books.models  # noqa: F401

    return Base.metadata
