"""`GET /api/events` over a real uvicorn server: a real client reads the Server-Sent Events of
runs carried out by the server's dispatcher, in order, per tenant; on PostgreSQL a CLI sync in
another process reaches the stream through `LISTEN/NOTIFY`."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cli.runner import run_cli
from tests.fixtures.api import TenantToken, make_tenant_token
from tests.fixtures.fake_external import FakeExternal
from todosync import config
from todosync.app import create_app
from todosync.db import engine as db_engine
from todosync.store import service
from todosync.store.models import Connection
from todosync.sync.books.models import SyncConflict

READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sse:
    event: str
    data: dict[str, Any]


@pytest.fixture
def server_url(database_url: str, fake_external: FakeExternal) -> Iterator[str]:
    """`todosync serve`'s app (dispatcher included) under uvicorn in a thread, on a free port."""
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
        external_max_attempts=1,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=20)
    sock.close()


@contextmanager
def event_stream(url: str, token: TenantToken) -> Iterator[Iterator[Sse]]:
    """Opens the stream, waits until the server has subscribed it, and yields its events."""
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=READ_TIMEOUT_S)) as client,
        client.stream("GET", f"{url}/api/events", headers=token.headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        for line in lines:
            if line == ": connected":
                break
        yield _events(lines)


def _events(lines: Iterator[str]) -> Iterator[Sse]:
    event, data = "", ""
    for line in lines:
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data += line.partition(":")[2].strip()
        elif not line and data:
            yield Sse(event, json.loads(data))
            event, data = "", ""


def _until_finished(events: Iterator[Sse], run_id: int) -> list[Sse]:
    seen = []
    for sse in events:
        seen.append(sse)
        if sse.event == "run.finished" and sse.data["data"]["run_id"] == run_id:
            return seen
    raise AssertionError("the stream ended")


def _trigger(url: str, token: TenantToken) -> int:
    response = httpx.post(f"{url}/api/sync", headers=token.headers, timeout=10)
    assert response.status_code == 202, response.text
    run_id: int = response.json()["run_id"]
    return run_id


def test_requires_a_token(server_url: str) -> None:
    """Without a token the stream is a 401 problem, not an open stream."""
    response = httpx.get(f"{server_url}/api/events", timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_run_streams_its_events_in_order(
    server_url: str, tenant: TenantToken, fake_external: FakeExternal
) -> None:
    """A triggered run streams started, progress, entity changes, then finished, in order."""
    fake_external.create_list("Groceries", items=["Milk", "Eggs"])
    with event_stream(server_url, tenant) as events:
        run_id = _trigger(server_url, tenant)
        seen = _until_finished(events, run_id)
    kinds = [sse.event for sse in seen]
    assert kinds[0] == "run.started"
    assert kinds[-1] == "run.finished"
    assert all(sse.data["data"].get("run_id") == run_id for sse in seen)
    assert all(sse.event == sse.data["kind"] for sse in seen)
    assert all(sse.data["tenant_id"] == tenant.tenant_id for sse in seen)
    changed = [sse.data["data"] for sse in seen if sse.event == "entity.changed"]
    assert sorted(c["entity"] for c in changed) == ["item", "item", "list"]
    assert {c["side"] for c in changed} == {"local"}
    progress = [sse.data["data"]["done"] for sse in seen if sse.event == "run.progress"]
    assert progress == sorted(progress)
    assert kinds.index("run.finished") > max(i for i, k in enumerate(kinds) if k != "run.finished")
    assert seen[-1].data["data"]["status"] == "ok"


async def test_another_tenant_sees_none_of_them(
    server_url: str,
    tenant: TenantToken,
    engine: AsyncEngine,
    fake_external: FakeExternal,
) -> None:
    """A second tenant's stream shows its own run first, and nothing of the first tenant's."""
    other = await make_tenant_token(engine, name="other")
    async with db_engine.create_sessionmaker(engine).begin() as session:
        session.add(Connection(tenant_id=other.tenant_id, name="other"))
    fake_external.create_list("Groceries", items=["Milk"])

    def scenario() -> tuple[list[Sse], int, int]:
        with (
            event_stream(server_url, tenant) as ours,
            event_stream(server_url, other) as theirs,
        ):
            first = _trigger(server_url, tenant)
            _until_finished(ours, first)
            second = _trigger(server_url, other)
            return _until_finished(theirs, second), first, second

    seen, first, second = await asyncio.to_thread(scenario)
    assert {sse.data["data"]["run_id"] for sse in seen} == {second}
    assert seen[0].event == "run.started"
    assert {sse.data["tenant_id"] for sse in seen} == {other.tenant_id}
    assert first != second


@pytest.mark.postgres_only
def test_a_cli_sync_in_another_process_reaches_the_stream(
    server_url: str,
    tenant: TenantToken,
    database_url: str,
    is_postgres: bool,
    fake_external: FakeExternal,
    tmp_path: Path,
) -> None:
    """`todosync sync` in its own process publishes through NOTIFY; `serve` streams it."""
    if not is_postgres:
        pytest.skip("events cross processes only through PostgreSQL's LISTEN/NOTIFY")
    fake_external.create_list("Remote", items=["one"])
    with event_stream(server_url, tenant) as events:
        done = run_cli(
            "sync",
            "--json",
            database_url=database_url,
            cwd=tmp_path,
            TODOSYNC_EXTERNAL_API_URL=fake_external.url,
            TODOSYNC_EXTERNAL_API_TOKEN=fake_external.token or "",
        )
        assert done.returncode == 0, done.stderr
        run_id = json.loads(done.stdout.splitlines()[-1])["run_id"]
        seen = _until_finished(events, run_id)
    started = [sse for sse in seen if sse.event == "run.started"]
    assert started[-1].data["data"] == {"run_id": run_id, "trigger": "cli"}
    ours = (sse.event for sse in seen if sse.data["data"].get("run_id") == run_id)
    assert next(ours) == "run.started"


@pytest.mark.parametrize(("verb", "body"), [("resolve", {"choice": "remote"}), ("dismiss", None)])
async def test_resolving_a_conflict_is_streamed(
    server_url: str,
    tenant: TenantToken,
    engine: AsyncEngine,
    verb: str,
    body: dict[str, str] | None,
) -> None:
    """`POST .../resolve` and `.../dismiss` stream `conflict.resolved` with the id."""
    async with db_engine.create_sessionmaker(engine).begin() as session:
        todo = await service.create_list(session, tenant_id=tenant.tenant_id, name="Old")
        conflict = SyncConflict(
            connection_id=1, kind="list", local_id=todo.id, field="name",
            base="Old", local="Old", remote="New", winner="local",
        )  # fmt: skip
        session.add(conflict)
        await session.flush()
        conflict_id = conflict.id

    def scenario() -> Sse:
        with event_stream(server_url, tenant) as events:
            response = httpx.post(
                f"{server_url}/api/sync/conflicts/{conflict_id}/{verb}",
                headers=tenant.headers,
                json=body,
                timeout=10,
            )
            assert response.status_code == 200, response.text
            return next(events)

    sse = await asyncio.to_thread(scenario)
    assert sse.event == "conflict.resolved"
    assert sse.data == {"kind": "conflict.resolved", "tenant_id": 1, "data": {"id": conflict_id}}
