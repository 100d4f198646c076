"""User mistakes give one line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

import socket
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


@pytest.mark.parametrize(
    "args",
    [("tokens", "create"), ("sync",), ("verify",), ("quarantine", "list"), ("serve",)],
)
def test_unmigrated_database_names_the_remedy(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A command that needs the schema says to run `todosync db upgrade`, and leaves no
    database file behind where there was none."""
    path = tmp_path / "missing.db"
    result = run_cli(*args, database_url=f"sqlite:///{path}", cwd=tmp_path)
    assert result.returncode == 1
    assert "todosync db upgrade" in _assert_one_line_error(result.stderr)
    assert not path.exists()


def test_an_invalid_log_level_is_one_line(tmp_path: Path) -> None:
    """An unknown TODOSYNC_LOG_LEVEL is one line naming the variable and exit 1; the level's
    case does not matter."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_cli("db", "upgrade", database_url=url, cwd=tmp_path, TODOSYNC_LOG_LEVEL="LOUD")
    assert result.returncode == 1
    line = _assert_one_line_error(result.stderr)
    assert "TODOSYNC_LOG_LEVEL" in line
    assert "Value error" not in line
    lower = run_cli("db", "upgrade", database_url=url, cwd=tmp_path, TODOSYNC_LOG_LEVEL="debug")
    assert lower.returncode == 0, lower.stderr


@pytest.mark.parametrize("command", ["serve", "fake-external"])
def test_a_busy_port_is_one_line(tmp_path: Path, command: str) -> None:
    """`serve` (or the fake) on a port another process listens on says so in one line and
    exits 1."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(command, "--port", str(port), database_url=url, cwd=tmp_path)
    assert result.returncode == 1
    error = next(line for line in result.stderr.splitlines() if "error" in line)
    assert error.startswith("todosync: error: ")
    assert error.endswith(f"port {port} is in use")
    assert "Traceback" not in result.stderr


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
