"""Test-session set-up shared by every tier.

The database comes from `TODOSYNC_TEST_DATABASE_URL` (a PostgreSQL URL in the second CI pass),
or else a fresh SQLite file. It is migrated once per session; each test starts from the rows
that the migrations create and nothing else.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.fake_external",
    "tests.fixtures.api",
]


def pytest_configure() -> None:
    # Hundreds of tests start `python -m todosync` (the CLI, `serve`, workers, the fake). Where
    # the machine sets PYTHONDONTWRITEBYTECODE (this one does), each of them would compile all
    # of its imports anew, ~1.5 s a process: let them cache the bytecode outside the working
    # tree instead, as an installed package would (benchmarks/procs.py does the same).
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        cache = Path(tempfile.gettempdir()) / "todosync-test-pycache"
        os.environ.setdefault("PYTHONPYCACHEPREFIX", str(cache))
