"""On PostgreSQL, in the distributed mode: a run carried out by a separate `todosync worker`
process reaches a GraphQL subscriber of `serve` through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.cli.runner import cli_env
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal
from tests.graphql.live import running_server, subscriber
from tests.graphql.test_subscriptions import RUN_EVENTS, trigger, until_finished
from todosync import config

pytestmark = pytest.mark.postgres_only

STARTUP_TIMEOUT_S = 60.0  # Python start-up on a busy machine


@pytest.fixture
def worker(
    is_postgres: bool, database_url: str, fake_external: FakeExternal, tmp_path: Path
) -> Iterator[Path]:
    """A `todosync worker` subprocess, ready; yields the path of its log."""
    if not is_postgres:
        pytest.skip("events cross processes only through PostgreSQL's LISTEN/NOTIFY")
    log_path = tmp_path / "worker.log"
    env = cli_env(
        database_url,
        TODOSYNC_RUN_MODE="distributed",
        TODOSYNC_EXTERNAL_API_URL=fake_external.url,
        TODOSYNC_EXTERNAL_API_TOKEN=fake_external.token or "",
        TODOSYNC_SYNC_INTERVAL_SECONDS="0",
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "todosync", "worker"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while "worker ready" not in log_path.read_text(errors="replace"):
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        yield log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def serve_url(database_url: str, fake_external: FakeExternal) -> Iterator[str]:
    """`serve` in the distributed mode: it queues jobs and carries out no run itself."""
    settings = config.Settings(
        database_url=database_url,
        run_mode=config.RunMode.DISTRIBUTED,
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
        sync_interval_seconds=0,
    )
    with running_server(settings) as url:
        yield url


async def test_a_workers_run_reaches_the_subscriber(
    worker: Path, serve_url: str, tenant: TenantToken, fake_external: FakeExternal
) -> None:
    """`triggerSync` on `serve` queues a job; the worker runs it and its events, sent with
    NOTIFY from the worker's process, arrive on `serve`'s WebSocket in order."""
    fake_external.create_list("Groceries", items=["Milk"])
    async with subscriber(serve_url, token=tenant.token) as events:
        op_id = await events.subscribe(RUN_EVENTS)
        run_id = await trigger(serve_url, tenant)
        seen = await until_finished(events, op_id, run_id)
    assert seen[0]["kind"] == "run.started"
    assert seen[-1]["data"]["status"] == "ok"
    # the worker carried it out (`serve` has no dispatcher in this mode) and says so
    log = await asyncio.to_thread(worker.read_text, errors="replace")
    assert f"run {run_id} ok" in log, log
