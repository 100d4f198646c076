"""Property-based tests of the API against its own `/openapi.json` (schemathesis, in-process).

Schemathesis generates valid and invalid requests for every operation, sends them with a valid
token and checks each response: no 5xx, status codes, content types, headers and bodies as
documented, invalid input refused, auth enforced. The default run is small (a few seconds);
`-m slow` runs many more examples.

The schema is loaded at import from an app whose database is never touched (serving
`/openapi.json` needs none); each test sends its requests to an app over the test database.
Schemathesis's lazy `from_fixture` loader would avoid that split, but it breaks on pytest 9.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from sqlalchemy.pool import NullPool

from tests.fixtures.api import TenantToken
from todosync import config
from todosync.app import create_app
from todosync.db import engine as db_engine

FAST_EXAMPLES = 8
SLOW_EXAMPLES = 300
_UNUSED_DATABASE = "sqlite:///never-opened.db"


def _app(database_url: str) -> FastAPI:
    # Schemathesis drives the app from its own event-loop thread: a NullPool engine opens
    # connections in whichever loop uses them and leaves nothing behind to dispose.
    engine = db_engine.create_engine(database_url, poolclass=NullPool)
    return create_app(config.Settings(database_url=database_url), engine=engine, dispatcher=False)


schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    _app(_UNUSED_DATABASE),
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": FAST_EXAMPLES, "mode": "all", "database": "none"}}
    ),
).exclude(path="/api/events")  # an endless stream (tests/api/test_events.py covers it)


@pytest.fixture
def live_app(database_url: str) -> FastAPI:
    """The app over the test database, driven from schemathesis's thread."""
    return _app(database_url)


# The fixtures are deliberately shared by all examples of an operation: one app, one token.
_SHARED_FIXTURES = [hypothesis.HealthCheck.function_scoped_fixture]


@schema.parametrize()
@hypothesis.settings(suppress_health_check=_SHARED_FIXTURES)
def test_api_conforms_to_its_schema(
    case: schemathesis.Case[Any], live_app: FastAPI, tenant: TenantToken
) -> None:
    """No generated request gets a 5xx or a response that its schema does not describe."""
    case.call_and_validate(app=live_app, headers=tenant.headers, excluded_checks=_excluded(case))


_TIMES = frozenset({"as_of", "known_at"})


def _excluded(case: schemathesis.Case[Any]) -> list[Any]:
    """A history time is refused (422) outside a window that moves with the clock (the last
    HISTORY_RETENTION_DAYS, never the future), which no schema can state: schema-valid
    times may be refused there, and everything else is still checked."""
    if _TIMES & set(case.query or {}):
        return [schemathesis.checks.positive_data_acceptance]
    return []


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(max_examples=SLOW_EXAMPLES, suppress_health_check=_SHARED_FIXTURES)
def test_api_conforms_to_its_schema_at_length(
    case: schemathesis.Case[Any], live_app: FastAPI, tenant: TenantToken
) -> None:
    """The same, with hundreds of examples per operation."""
    case.call_and_validate(app=live_app, headers=tenant.headers, excluded_checks=_excluded(case))
