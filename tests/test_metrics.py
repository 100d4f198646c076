"""`/metrics`: Prometheus text that parses, shared state read from the database (the same in
every replica), per-process series that move as this process makes requests and runs."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.api import make_client
from tests.fixtures.fake_external import FakeExternal
from tests.fixtures.store import make_item, make_list
from todosync import config, runtime
from todosync.app import create_app
from todosync.external.client import ExternalClient
from todosync.external.errors import Unreachable
from todosync.sync.books.models import SyncConflict, SyncQuarantine, SyncRun
from todosync.sync.books.report import RunReport
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine

REQUIRED = (
    "todosync_sync_runs",
    "todosync_sync_duration_seconds",
    "todosync_sync_entities",
    "todosync_external_requests",
    "todosync_external_request_duration_seconds",
    "todosync_circuit_open",
    "todosync_sync_lag_seconds",
    "todosync_pending_changes",
    "todosync_conflicts_open",
    "todosync_quarantined",
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample of `/metrics`, keyed by name and sorted labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def run_sync(
    app: FastAPI, *, database_url: str, fake_external: FakeExternal, trigger: str = "cli"
) -> RunReport:
    """One sync whose client and run are observed by `app` (as its dispatcher's would be)."""
    token = SecretStr(fake_external.token) if fake_external.token else None
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=token,
        external_max_attempts=1,
    )
    services = runtime.services_of(app)
    client = ExternalClient.from_settings(settings, on_request=services.metrics.observe_request)
    async with client:
        engine = SyncEngine(
            sessionmaker=services.sessionmaker,
            client=client,
            options=EngineOptions.from_settings(settings),
            observer=services.observer,
        )
        return await engine.run(RunRequest(trigger=trigger))


async def test_metrics_parse_and_name_every_series(anonymous_client: httpx.AsyncClient) -> None:
    """`/metrics` parses with the Prometheus parser and has every documented family."""
    response = await anonymous_client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert set(REQUIRED) <= names


async def test_metrics_move_as_runs_happen(
    app: FastAPI,
    anonymous_client: httpx.AsyncClient,
    session: AsyncSession,
    database_url: str,
    fake_external: FakeExternal,
) -> None:
    """A run moves the run, entity, request and duration series; pending changes drop to 0."""
    todo = await make_list(session, name="Private groceries")
    await make_item(session, todo_list=todo, description="Secret milk")
    before = await scrape(anonymous_client)
    assert value(before, "todosync_pending_changes") == 2

    report = await run_sync(app, database_url=database_url, fake_external=fake_external)
    assert report.status == "ok", report.errors
    after = await scrape(anonymous_client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("todosync_sync_runs_total", status="ok", trigger="cli") == 1
    assert moved("todosync_sync_entities_total", action="created", side="remote") == 2
    assert moved("todosync_external_requests_total", method="GET", status="200") == 1
    assert moved("todosync_external_requests_total", method="POST", status="201") == 1
    assert moved("todosync_external_request_duration_seconds_count", method="POST") == 1
    assert moved("todosync_sync_duration_seconds_count") == 1
    assert value(after, "todosync_pending_changes") == 0
    assert value(after, "todosync_sync_last_status", status="ok") == 1
    text = (await anonymous_client.get("/metrics")).text
    assert "groceries" not in text.lower()
    assert "milk" not in text.lower()


async def test_shared_state_is_the_same_in_every_replica(
    app: FastAPI,
    anonymous_client: httpx.AsyncClient,
    api_settings: config.Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Two apps over one database report the same conflicts, quarantine and run counts."""
    async with sessionmaker.begin() as session:
        run = SyncRun(connection_id=1, trigger="schedule", status="failed", counts={}, errors=[])
        session.add(run)
        await session.flush()
        run.finished_at = run.created_at
        session.add(
            SyncConflict(
                connection_id=1, run_id=run.id, kind="list", local_id=1, field="name",
                base="a", local="b", remote="c", winner="remote",
            )
        )  # fmt: skip
        session.add(SyncQuarantine(connection_id=1, kind="item", external_id="x", reason="bad"))
    replica = create_app(api_settings, engine=engine, dispatcher=False)
    async with make_client(replica) as other:
        ours, theirs = await scrape(anonymous_client), await scrape(other)
    for name, labels in (
        ("todosync_conflicts_open", {}),
        ("todosync_quarantined", {}),
        ("todosync_sync_runs_total", {"status": "failed", "trigger": "schedule"}),
        ("todosync_sync_last_status", {"status": "failed"}),
    ):
        assert value(ours, name, **labels) == value(theirs, name, **labels) == 1, name


async def test_run_counters_never_go_down_when_old_runs_are_purged(
    anonymous_client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Deleting finished runs (retention) leaves the run counter where it was."""
    async with sessionmaker.begin() as session:
        for _ in range(3):
            session.add(
                SyncRun(connection_id=1, trigger="manual", status="ok", counts={}, errors=[])
            )
        await session.flush()
        await session.execute(sa.update(SyncRun).values(finished_at=SyncRun.created_at))
    labels = {"status": "ok", "trigger": "manual"}
    assert value(await scrape(anonymous_client), "todosync_sync_runs_total", **labels) == 3
    async with sessionmaker.begin() as session:
        await session.execute(sa.delete(SyncRun))
    assert value(await scrape(anonymous_client), "todosync_sync_runs_total", **labels) == 3


async def test_circuit_gauge_counts_the_connections_whose_breaker_is_open(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """`todosync_circuit_open` reads the connections' breakers at scrape time: 0 while all
    are closed, 1 once one connection's external API (nothing listens on its port) opened
    its breaker."""
    from todosync.observe.metrics import Metrics
    from todosync.tenancy.clients import ConnectionClients

    settings = config.Settings(
        database_url=database_url,
        external_api_url="http://127.0.0.1:9",  # the discard port: refused
        external_max_attempts=1,
        breaker_failure_threshold=1,
    )
    clients = ConnectionClients(settings=settings, sessionmaker=sessionmaker)
    found = Metrics()
    found.track_circuits(clients.open_circuits)
    try:
        async with clients.lend(1) as client:
            assert found.registry.get_sample_value("todosync_circuit_open") == 0
            with pytest.raises(Unreachable):
                await client.pull()
        assert clients.circuit_state(1) == "open"
        assert found.registry.get_sample_value("todosync_circuit_open") == 1
    finally:
        await clients.aclose()


async def test_dry_runs_are_plans_not_syncs(
    anonymous_client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A dry run neither counts as a run nor changes the connection's last status."""
    async with sessionmaker.begin() as session:
        for status, dry_run in (("ok", False), ("held", True)):
            session.add(
                SyncRun(
                    connection_id=1,
                    trigger="cli",
                    status=status,
                    dry_run=dry_run,
                    counts={},
                    errors=[],
                )
            )
            await session.flush()
        await session.execute(sa.update(SyncRun).values(finished_at=SyncRun.created_at))
    samples = await scrape(anonymous_client)
    assert value(samples, "todosync_sync_last_status", status="ok") == 1
    assert value(samples, "todosync_sync_last_status", status="held") == 0
    assert value(samples, "todosync_sync_runs_total", status="held", trigger="cli") == 0


async def test_per_connection_series_are_bounded_by_the_setting(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """Each of the oldest `labelled_connections` connections gets series labelled with its
    id; the others only count in the aggregates and in `todosync_connections`."""
    from todosync.observe.metrics import Metrics
    from todosync.tenancy import connections, service
    from todosync.tenancy.secrets import SecretBox, new_key

    box = SecretBox.from_settings(
        config.Settings(database_url=database_url, secret_key=SecretStr(new_key()))
    )
    async with sessionmaker.begin() as session:
        await service.create_tenant(session, name="acme")
        second = await connections.create_connection(
            session, box=box, tenant="acme", url="http://127.0.0.1:9", token=SecretStr("t")
        )
        for connection_id, status in ((1, "failed"), (second, "ok")):
            session.add(
                SyncRun(
                    connection_id=connection_id,
                    trigger="cli",
                    status=status,
                    dry_run=False,
                    counts={},
                    errors=[],
                )
            )
        await session.flush()
        await session.execute(sa.update(SyncRun).values(finished_at=SyncRun.created_at))

    async def labelled(count: int) -> tuple[set[tuple[str, str]], float]:
        text = (await Metrics(labelled_connections=count).render(sessionmaker)).decode()
        found: set[tuple[str, str]] = set()
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "todosync_connection_last_status" and sample.value == 1:
                    found.add((sample.labels["connection"], sample.labels["status"]))
                if sample.name == "todosync_connections":
                    total = sample.value
        return found, total

    assert await labelled(0) == (set(), 2)
    assert await labelled(1) == ({("1", "failed")}, 2)
    assert await labelled(20) == ({("1", "failed"), (str(second), "ok")}, 2)
