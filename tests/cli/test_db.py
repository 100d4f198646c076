"""`todosync db upgrade` as a subprocess."""

from __future__ import annotations

from pathlib import Path

from tests.cli.runner import run_cli
from todosync.db import migrate


def test_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    """A fresh database is migrated to head; a second upgrade succeeds and changes nothing."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = run_cli("db", "upgrade", database_url=url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    head = migrate.head_revision(url)
    assert migrate.current_revision(url) == head
    second = run_cli("db", "upgrade", database_url=url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert migrate.current_revision(url) == head
    assert "Running upgrade" not in second.stderr
