"""Runs `python -m todosync` as a subprocess, the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["cli_env", "run_cli"]


def cli_env(database_url: str | None, **extra: str) -> dict[str, str]:
    """The environment without any TODOSYNC_* of the caller, plus the database and `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TODOSYNC_")}
    if database_url is not None:
        env["TODOSYNC_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_cli(
    *args: str,
    database_url: str | None,
    cwd: Path,
    timeout_s: float = 60,
    stdin: str | None = None,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    """Runs `python -m todosync ARGS` in `cwd` (with `stdin` as its input) and captures its
    output."""
    return subprocess.run(
        [sys.executable, "-m", "todosync", *args],
        cwd=cwd,
        env=cli_env(database_url, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
