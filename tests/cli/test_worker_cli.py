"""`todosync worker` and the distributed run mode refuse SQLite; `db upgrade` installs the job
queue on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cli.runner import run_cli
from todosync.jobs import queue


def test_worker_refuses_sqlite_with_one_line(tmp_path: Path) -> None:
    """On SQLite, `todosync worker` says in one line that it needs PostgreSQL and exits 1."""
    result = run_cli("worker", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("todosync: error: ")
    assert "PostgreSQL" in lines[0]


def test_serve_in_distributed_mode_refuses_sqlite(tmp_path: Path) -> None:
    """`serve` with TODOSYNC_RUN_MODE=distributed on SQLite stops with one line and exit 1."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    result = run_cli(
        "serve", "--port", "0", database_url=url, cwd=tmp_path, TODOSYNC_RUN_MODE="distributed"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("todosync: error: "), result.stderr
    assert "PostgreSQL" in lines[-1]
    assert "Traceback" not in result.stderr


def test_db_upgrade_installs_the_job_queue_on_postgres(
    database_url: str, is_postgres: bool, tmp_path: Path, blocking_engine: sa.Engine
) -> None:
    """`db upgrade` (twice: it is idempotent) leaves the job queue's tables in their schema."""
    if not is_postgres:
        pytest.skip("the job queue lives in PostgreSQL only")
    for _ in range(2):
        result = run_cli("db", "upgrade", database_url=database_url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    with blocking_engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names(schema=queue.SCHEMA))
    assert {"pgqueuer", "pgqueuer_log", "pgqueuer_schedules"} <= tables
