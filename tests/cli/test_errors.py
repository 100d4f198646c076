"""User mistakes give one line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.runner import run_cli

UNREACHABLE = "postgresql://postgres:hunter2@127.0.0.1:1/x"


def _assert_one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("todosync: error: ")
    return lines[0]


@pytest.mark.parametrize("args", [("db", "upgrade"), ("tokens", "create")])
def test_unreachable_database(tmp_path: Path, args: tuple[str, ...]) -> None:
    """An unreachable database is one line (without the password) and exit code 1."""
    result = run_cli(*args, database_url=UNREACHABLE, cwd=tmp_path)
    assert result.returncode == 1
    line = _assert_one_line_error(result.stderr)
    assert "unreachable" in line
    assert "hunter2" not in result.stderr
    assert result.stdout == ""


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    """A setting of the wrong type is one line naming the variable (not its value), exit 1."""
    result = run_cli(
        "tokens",
        "create",
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        cwd=tmp_path,
        TODOSYNC_SYNC_INTERVAL_SECONDS="abc",
    )
    assert result.returncode == 1
    line = _assert_one_line_error(result.stderr)
    assert "TODOSYNC_SYNC_INTERVAL_SECONDS" in line
    assert "abc" not in line


def test_unmigrated_database_names_the_remedy(tmp_path: Path) -> None:
    """A command that needs the schema (tokens, serve) says to run `todosync db upgrade`."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_cli("tokens", "create", database_url=url, cwd=tmp_path)
    assert result.returncode == 1
    assert "todosync db upgrade" in _assert_one_line_error(result.stderr)


def test_a_short_session_secret_is_refused(tmp_path: Path) -> None:
    """A TODOSYNC_SESSION_SECRET under 32 bytes is one line naming the variable (never the
    value) and exit 1, before anything is served."""
    result = run_cli(
        "serve",
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        cwd=tmp_path,
        TODOSYNC_SESSION_SECRET="too-short-secret",
    )
    assert result.returncode == 1
    line = _assert_one_line_error(result.stderr)
    assert "TODOSYNC_SESSION_SECRET" in line
    assert "32 bytes" in line
    assert "too-short-secret" not in line
