"""A CLI sync that hits a database error logs the error, never the users' texts: statement
parameters stay out of database error messages in every entry point, `sync` included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.cli.test_sync_command import _last_json, _run
from tests.fixtures.fake_external import FakeExternal
from tests.fixtures.refuse import inserts_refused

SECRET_TEXT = "private-item-text-4711"


@pytest.fixture
def quarantine_refused(blocking_engine: sa.Engine, is_postgres: bool) -> Iterator[None]:
    """Every insert into the quarantine (which keeps a bad entity's JSON, texts included)
    fails in the database, until the test ends."""
    with inserts_refused(blocking_engine, table="sync_quarantine", is_postgres=is_postgres):
        yield


@pytest.mark.usefixtures("quarantine_refused")
def test_a_database_error_in_a_cli_sync_logs_no_item_text(
    database_url: str, fake_external: FakeExternal
) -> None:
    """A run that fails on a database error (quarantining a bad remote list) is logged with
    its error, at DEBUG level, and neither stream carries the list's texts."""
    fake_external.load_state([{"id": "bad", "name": SECRET_TEXT, "items": "not a list"}])

    result = _run(database_url, fake_external, "sync", "--json", TODOSYNC_LOG_LEVEL="DEBUG")

    assert _last_json(result.stdout)["status"] == "failed", result.stderr
    assert "refused by a test trigger" in result.stderr  # the error itself is logged...
    assert SECRET_TEXT not in result.stderr  # ...without the statement's parameters
    assert SECRET_TEXT not in result.stdout
