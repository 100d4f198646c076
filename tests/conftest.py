"""Test-session set-up shared by every tier.

The database comes from `TODOSYNC_TEST_DATABASE_URL` (a PostgreSQL URL in the second CI pass),
or else a fresh SQLite file. It is migrated once per session; each test starts from the rows
that the migrations create and nothing else.
"""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.fake_external",
    "tests.fixtures.api",
]
