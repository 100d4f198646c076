"""Structured logs: JSON lines, secrets redacted at any depth, the run id on every line of a run."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal
from todosync import config
from todosync import logging as todosync_logging
from todosync.external.client import ExternalClient
from todosync.store import service
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine

SECRETS = ("s3cret-bearer", "tds_live_token_value", "hunter2", "basic-credential", "nested-key")


@pytest.fixture
def json_logs() -> Iterator[Any]:
    """Logging configured as `TODOSYNC_LOG_FORMAT=json` at DEBUG, its stderr handler writing to
    a buffer; a function that returns the lines written since the last call, parsed. The
    previous logging set-up comes back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    todosync_logging.configure(level="DEBUG", json_format=True)
    buffer = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)

    def lines() -> list[dict[str, Any]]:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return [json.loads(line) for line in text.splitlines() if line]

    yield lines
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_tokens_and_authorization_headers_are_redacted(json_logs: Any) -> None:
    """Bearer tokens, API tokens, `Authorization` headers (as text and in nested headers),
    URL passwords and secret-named fields never reach the log, from structlog or stdlib."""
    structlog.get_logger("todosync.test").info(
        "calling out",
        headers={"Authorization": "Basic basic-credential", "Accept": "application/json"},
        request={"params": [{"api_key": "nested-key"}]},
        token="tds_live_token_value",
        url="postgresql://app:hunter2@db/todosync",
    )
    stdlib = logging.getLogger("todosync.test")
    stdlib.warning("sent Authorization: Bearer s3cret-bearer to %s", "the API")
    stdlib.info("headers were %s", {"authorization": "Basic basic-credential"})
    stdlib.error("client said: token tds_live_token_value is unknown")
    lines = json_logs()
    assert len(lines) == 4
    text = json.dumps(lines)
    for secret in SECRETS:
        assert secret not in text
    assert lines[0]["headers"] == {"Authorization": "[redacted]", "Accept": "application/json"}
    assert lines[0]["url"] == "postgresql://app:[redacted]@db/todosync"
    assert "Authorization: [redacted]" in lines[1]["event"]


def test_bound_context_reaches_stdlib_lines(json_logs: Any) -> None:
    """Context bound with structlog shows on stdlib records, and goes when unbound."""
    with structlog.contextvars.bound_contextvars(run_id=7):
        logging.getLogger("todosync.sync.test").info("inside")
    logging.getLogger("todosync.sync.test").info("outside")
    inside, outside = json_logs()
    assert inside["run_id"] == 7
    assert "run_id" not in outside


async def test_every_line_of_a_run_carries_its_id(
    json_logs: Any,
    fake_external: FakeExternal,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The engine's, the client's and the store's lines during a run all name the run."""
    fake_external.configure(clock_offset_s=600)  # the run warns about the skew
    fake_external.create_list("Remote", items=["one"])
    async with sessionmaker.begin() as session:
        await service.create_list(session, tenant_id=1, name="Local")
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
    )
    json_logs()  # forget the set-up's lines
    async with ExternalClient.from_settings(settings) as client:
        engine = SyncEngine(
            sessionmaker=sessionmaker, client=client, options=EngineOptions.from_settings(settings)
        )
        report = await engine.run(RunRequest())
    logging.getLogger("todosync.test").info("after the run")
    lines = json_logs()
    during = [line for line in lines if line["event"] != "after the run"]
    assert any("clock" in line["event"] for line in during)
    assert {line.get("run_id") for line in during} == {report.run_id}
    assert "run_id" not in lines[-1]


def test_best_effort_logs_a_failure_by_type_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A failing best-effort step is one warning with what failed and the exception's type,
    never its message; the caller goes on."""
    log = logging.getLogger("tests.best_effort")
    with caplog.at_level(logging.WARNING, logger="tests.best_effort"):
        with todosync_logging.best_effort(log, "the heartbeat of run 7"):
            raise ValueError("Groceries: private text")
        with todosync_logging.best_effort(log, "a step that works"):
            pass
    assert [r.getMessage() for r in caplog.records] == [
        "the heartbeat of run 7 failed (ValueError)"
    ]
