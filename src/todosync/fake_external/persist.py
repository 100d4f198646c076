"""An SQLite file that keeps the fake's data across restarts: one row per list, as JSON.

One row per list keeps writes simple and atomic (a write touches one list); it is not fast for
huge lists, which the fake does not need.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["SqliteFile"]

_SCHEMA = "CREATE TABLE IF NOT EXISTS lists (key TEXT PRIMARY KEY, seq INTEGER, body BLOB)"


class SqliteFile:
    """The rows of one state file; each method commits before it returns."""

    def __init__(self, path: str | Path) -> None:
        # The server touches it only from its event loop, which may run in another thread.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def load(self) -> list[tuple[str, int, Any]]:
        """Every (key, seq, list) in creation order."""
        rows = self._db.execute("SELECT key, seq, body FROM lists ORDER BY seq").fetchall()
        return [(key, seq, msgspec.json.decode(body)) for key, seq, body in rows]

    def put(self, *, key: str, seq: int, body: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO lists (key, seq, body) VALUES (?, ?, ?)",
            (key, seq, msgspec.json.encode(body)),
        )

    def delete(self, *, key: str) -> None:
        self._db.execute("DELETE FROM lists WHERE key = ?", (key,))

    def replace_all(self, rows: Iterable[tuple[str, int, Any]]) -> None:
        """Swaps the whole data set in one transaction."""
        with self._transaction():
            self._db.execute("DELETE FROM lists")
            self._db.executemany(
                "INSERT INTO lists (key, seq, body) VALUES (?, ?, ?)",
                ((key, seq, msgspec.json.encode(body)) for key, seq, body in rows),
            )

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
