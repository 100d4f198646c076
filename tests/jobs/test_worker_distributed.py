"""The distributed mode with real processes: `todosync worker`s (and, where the API is under
test, a `todosync serve` in run mode distributed) on the PostgreSQL test database, syncing with
the fake external API."""

from __future__ import annotations

import asyncio
import itertools
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cli.runner import cli_env
from tests.fixtures.api import make_tenant_token
from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.fixtures.store import queue_plain_run
from todosync import config
from todosync.cli import runner
from todosync.db import engine as db_engine
from todosync.jobs import queue
from todosync.store import service as store_service
from todosync.store.models import DEFAULT_TENANT_ID
from todosync.sync import verify
from todosync.sync.books.models import SyncRun

pytestmark = pytest.mark.postgres_only

T = TypeVar("T")
STARTUP_TIMEOUT_S = 60.0  # Python start-up on a busy machine
SETTLE_TIMEOUT_S = 40.0
FINISHED = {"ok", "partial", "held", "degraded", "failed"}


@pytest.fixture(autouse=True)
def _needs_postgres(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the distributed mode needs PostgreSQL (TODOSYNC_TEST_DATABASE_URL)")


class Cluster:
    """`serve` and workers as subprocesses, their logs in files, and an API client."""

    def __init__(self, *, database_url: str, fake: FakeExternal, workdir: Path) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.env = cli_env(
            database_url,
            TODOSYNC_RUN_MODE="distributed",
            TODOSYNC_EXTERNAL_API_URL=fake.url,
            TODOSYNC_EXTERNAL_API_TOKEN=fake.token or "",
            TODOSYNC_SYNC_INTERVAL_SECONDS="0",
            TODOSYNC_LEASE_TTL_SECONDS="2",
            TODOSYNC_SHUTDOWN_TIMEOUT_SECONDS="15",
            TODOSYNC_EXTERNAL_MAX_ATTEMPTS="2",
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.api: httpx.Client | None = None

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        # the child writes to its own copy of the descriptor
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "todosync", *args],
                cwd=self.workdir,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def start_all(self, *, workers: int = 2, serve: bool = True, **worker_env: str) -> None:
        """Starts `serve` (unless told not to) and the workers together (start-up is most of a
        test's time), makes an API token, and waits until all are ready."""
        names = [f"worker{n}" for n in range(1, workers + 1)]
        for name in names:
            self.start(name, "worker", **worker_env)
        if serve:
            port = _free_port()
            process = self.start("serve", "serve", "--port", str(port))
            headers = {"Authorization": f"Bearer {_make_token(self.database_url)}"}
            self.api = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10
            )
            wait_for(
                lambda: _healthy(self.api, process, self.log("serve")),
                what="serve is up",
                timeout_s=STARTUP_TIMEOUT_S,
            )
        for name in names:
            wait_for(
                lambda name=name: self._ready(name),  # type: ignore[misc]
                what=f"{name} is ready",
                timeout_s=STARTUP_TIMEOUT_S,
            )

    def _ready(self, name: str) -> bool:
        process = self.processes[name]
        assert process.poll() is None, self.log(name)
        return "worker ready" in self.log(name)

    def client(self) -> httpx.Client:
        assert self.api is not None, "serve started"
        return self.api

    def trigger(self, **body: Any) -> int:
        response = self.client().post("/api/sync", json=body)
        assert response.status_code == 202, response.text
        run_id: int = response.json()["run_id"]
        return run_id

    def run(self, run_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.client().get(f"/api/sync/runs/{run_id}").json()
        return found

    def runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.client().get("/api/sync/runs?limit=200").json()["data"]
        return runs

    def settle(self, run_ids: set[int]) -> list[dict[str, Any]]:
        """Waits until every run named has finished; returns them."""

        def finished() -> list[dict[str, Any]] | None:
            runs = [self.run(run_id) for run_id in sorted(run_ids)]
            return runs if all(run["status"] in FINISHED for run in runs) else None

        return wait_for(finished, what=f"runs {sorted(run_ids)} finish")

    def create_lists(self, count: int) -> list[int]:
        ids = []
        for n in range(count):
            created = self.client().post("/api/todolists", json={"name": f"List {n}"})
            assert created.status_code == 201, created.text
            list_id: int = created.json()["id"]
            item = {"description": f"Item {n}", "completed": False}
            added = self.client().post(f"/api/todolists/{list_id}/items", json=item)
            assert added.status_code == 201, added.text
            ids.append(list_id)
        return ids

    def stop_all(self) -> None:
        if self.api is not None:
            self.api.close()
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@pytest.fixture
def cluster(database_url: str, fake_external: FakeExternal, tmp_path: Path) -> Iterator[Cluster]:
    """Processes of the distributed mode; whatever still runs at the end is killed."""
    # jobs and schedules of an earlier test (the queue's tables are not ours to clean up)
    for table in ("pgqueuer", "pgqueuer_schedules"):
        _query(database_url, f"DELETE FROM {queue.SCHEMA}.{table}")  # noqa: S608 (constants)
    started = Cluster(database_url=database_url, fake=fake_external, workdir=tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def wait_for(probe: Callable[[], T | None], *, what: str, timeout_s: float = SETTLE_TIMEOUT_S) -> T:
    """Polls `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out waiting until {what}")


def _in_transaction(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work(session)` in one committed transaction, from this (blocking) test."""

    async def run() -> T:
        engine = db_engine.create_engine(database_url)
        try:
            async with db_engine.create_sessionmaker(engine)() as session:
                done = await work(session)
                await session.commit()
                return done
        finally:
            await engine.dispose()

    # a thread of its own: the test session's event loop is not this code's to use
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _make_token(database_url: str) -> str:
    """A token of the default tenant, made in this process while the others start."""

    async def make(session: AsyncSession) -> str:
        return (await make_tenant_token(session)).token

    return _in_transaction(database_url, make)


def _queue_run(database_url: str) -> int:
    """What `POST /api/sync` does in distributed mode, without `serve`: a run and its job."""

    async def trigger(session: AsyncSession) -> int:
        run = await queue_plain_run(session, tenant_id=DEFAULT_TENANT_ID, delay_s=0)
        await queue.enqueue_runs(session, [queue.RunJob(run.id)])
        return run.id

    return _in_transaction(database_url, trigger)


def _create_lists(database_url: str, count: int) -> None:
    async def create(session: AsyncSession) -> None:
        for n in range(count):
            todo = await store_service.create_list(
                session, tenant_id=DEFAULT_TENANT_ID, name=f"List {n}"
            )
            await store_service.create_item(
                session, tenant_id=DEFAULT_TENANT_ID, list_id=todo.id, description=f"Item {n}"
            )

    _in_transaction(database_url, create)


def _drift(database_url: str, fake: FakeExternal) -> list[verify.Drift]:
    """What `todosync verify` reports: the differences between both sides (none: converged)."""
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake.url,
        external_api_token=SecretStr(fake.token or ""),
    )

    async def check() -> list[verify.Drift]:
        async with runner.open_engine(settings) as sync:
            return await verify.verify(
                sync.sessionmaker,
                sync.client,
                tenant_id=sync.tenant_id,
                connection_id=sync.connection_id,
            )

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, check()).result()


def _runs(database_url: str) -> list[dict[str, Any]]:
    """Every run, oldest first, from the database."""
    engine = sa.create_engine(db_engine.sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(SyncRun.__table__).order_by(SyncRun.id))
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(api: httpx.Client | None, process: subprocess.Popen[bytes], log: str) -> bool:
    assert process.poll() is None, log
    assert api is not None
    try:
        return api.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _assert_no_overlap(runs: list[dict[str, Any]]) -> None:
    """Real (not dry) runs of the connection, ordered by start, each ends before the next."""
    real = sorted((r for r in runs if not r["dry_run"]), key=lambda r: r["started_at"])
    for before, after in itertools.pairwise(real):
        assert _at(before["finished_at"]) <= _at(after["started_at"]), (before, after)


def _query(database_url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(db_engine.sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(sql))
            return list(result.scalars()) if result.returns_rows else []
    finally:
        engine.dispose()


def _lease_holder_pid(database_url: str) -> int | None:
    pids = _query(database_url, "SELECT pid FROM sync_leases")
    return int(pids[0]) if pids else None


def _worker_holding_lease(cluster: Cluster) -> tuple[str, subprocess.Popen[bytes]]:
    def holder() -> tuple[str, subprocess.Popen[bytes]] | None:
        pid = _lease_holder_pid(cluster.database_url)
        for name, process in cluster.processes.items():
            if name.startswith("worker") and process.pid == pid:
                return name, process
        return None

    return wait_for(holder, what="a worker holds the lease")


def test_many_triggers_give_runs_that_never_overlap(
    cluster: Cluster, fake_external: FakeExternal
) -> None:
    """Many simultaneous triggers of different kinds, run by two workers, never overlap in time
    on one connection, all finish, and leave both sides equal."""
    cluster.start_all(workers=2)
    list_ids = cluster.create_lists(3)
    fake_external.set_faults([FaultRule(kind="latency", latency_ms=150)])
    bodies: list[dict[str, Any]] = [{}, {"allow_mass_delete": True}, {"delay_seconds": 1}]
    bodies += [{"list_id": i} for i in list_ids]
    bodies += [{"list_id": i, "allow_mass_delete": True} for i in list_ids]
    with ThreadPoolExecutor(max_workers=8) as pool:
        run_ids = set(pool.map(lambda body: cluster.trigger(**body), bodies * 2))
    kinds = {(body.get("list_id"), body.get("allow_mass_delete", False)) for body in bodies}
    # one run per kind at least: repeats (and the delayed trigger) may join a waiting run
    assert len(run_ids) >= len(kinds)
    finished = cluster.settle(run_ids)
    assert {run["status"] for run in finished} == {"ok"}
    _assert_no_overlap(cluster.runs())
    fake_external.clear_faults()
    final = cluster.settle({cluster.trigger()})
    assert final[0]["status"] == "ok"
    assert _drift(cluster.database_url, fake_external) == []


def test_a_killed_workers_run_is_recovered_and_the_next_run_converges(
    cluster: Cluster, fake_external: FakeExternal
) -> None:
    """SIGKILL of the worker in the middle of a run: the other worker closes the run as
    abandoned, carries out a follow-up, and both sides end up equal."""
    cluster.start_all(workers=2, serve=False)
    _create_lists(cluster.database_url, 4)
    # the first list create is applied by the fake, then held: the run is in flight
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"], count=1)])
    run_id = _queue_run(cluster.database_url)
    fake_external.wait_for_requests(1, method="POST", timeout_s=SETTLE_TIMEOUT_S)
    name, victim = _worker_holding_lease(cluster)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    fake_external.release()

    def follow_up_ok() -> list[dict[str, Any]] | None:
        runs = _runs(cluster.database_url)
        later = [r for r in runs if r["id"] > run_id and r["status"] == "ok"]
        return runs if later else None

    runs = {run["id"]: run for run in wait_for(follow_up_ok, what="a follow-up run succeeds")}
    assert runs[run_id]["status"] == "failed"
    assert "abandoned" in runs[run_id]["reason"]
    assert not [r for r in runs.values() if r["status"] == "running"]
    real = sorted((r for r in runs.values() if r["started_at"]), key=lambda r: r["started_at"])
    for before, after in itertools.pairwise(real):
        assert before["finished_at"] <= after["started_at"], (before, after)
    assert _drift(cluster.database_url, fake_external) == []
    survivor = "worker2" if name == "worker1" else "worker1"
    assert f"run {run_id} was abandoned" in cluster.log(survivor)


def test_sigterm_stops_a_worker_gracefully(cluster: Cluster, fake_external: FakeExternal) -> None:
    """SIGTERM in the middle of a run: the worker finishes the action in flight, records the run,
    exits with 0 and leaves nothing running."""
    cluster.start_all(workers=1, serve=False, TODOSYNC_PUSH_CONCURRENCY="1")
    _create_lists(cluster.database_url, 4)
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"], count=1)])
    run_id = _queue_run(cluster.database_url)
    fake_external.wait_for_requests(1, method="POST", timeout_s=SETTLE_TIMEOUT_S)
    worker = cluster.processes["worker1"]
    worker.send_signal(signal.SIGTERM)
    wait_for(lambda: "stopping" in cluster.log("worker1"), what="the worker starts stopping")
    fake_external.release()
    assert worker.wait(timeout=30) == 0, cluster.log("worker1")
    runs = {run["id"]: run for run in _runs(cluster.database_url)}
    # the held create finished; the three others were left for the next run
    assert runs[run_id]["status"] == "partial", runs[run_id]
    assert "shutdown" in runs[run_id]["reason"]
    assert fake_external.request_count("POST") == 1
    assert not [r for r in runs.values() if r["status"] == "running"]
    assert "Traceback" not in cluster.log("worker1")


def test_periodic_runs_come_once_per_period_with_two_workers(cluster: Cluster) -> None:
    """With a 2 s interval and two workers, each period gives one `schedule` run, never two."""
    cluster.start_all(workers=2, serve=False, TODOSYNC_SYNC_INTERVAL_SECONDS="2")

    def three_finished() -> list[dict[str, Any]] | None:
        runs = [r for r in _runs(cluster.database_url) if r["trigger"] == "schedule"]
        done = [r for r in runs if r["status"] in FINISHED]
        return runs if len(done) >= 3 else None

    scheduled = wait_for(three_finished, what="three periodic runs finish")
    queued_at = [run["created_at"] for run in scheduled]
    # A period is 2 s with ±10 % jitter, so runs are queued at least 1.8 s apart, less the time
    # a tick takes from reading the clock to recording the run (0.3 s here, for a loaded
    # machine); a second run in one period would come from the same or the next tick, sooner.
    for before, after in itertools.pairwise(queued_at):
        assert (after - before).total_seconds() >= 1.8 - 0.3, queued_at
    finished = [r for r in scheduled if r["finished_at"] is not None]
    for before, after in itertools.pairwise(finished):
        assert before["finished_at"] <= after["started_at"], (before, after)


def test_sigterm_past_the_timeout_cuts_the_run_short_and_queues_a_follow_up(
    cluster: Cluster, fake_external: FakeExternal
) -> None:
    """A run that cannot stop within the shutdown timeout (its call hangs) is cut short: it is
    recorded as interrupted, a follow-up run with its job is queued, and the worker exits 0."""
    cluster.start_all(
        workers=1,
        serve=False,
        TODOSYNC_PUSH_CONCURRENCY="1",
        TODOSYNC_SHUTDOWN_TIMEOUT_SECONDS="1",
    )
    _create_lists(cluster.database_url, 2)
    # held until the fixture resets the fake: longer than any shutdown timeout
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"], count=1)])
    run_id = _queue_run(cluster.database_url)
    fake_external.wait_for_requests(1, method="POST", timeout_s=SETTLE_TIMEOUT_S)
    worker = cluster.processes["worker1"]
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, cluster.log("worker1")
    runs = {run["id"]: run for run in _runs(cluster.database_url)}
    assert runs[run_id]["status"] == "failed"
    assert runs[run_id]["reason"] == "interrupted by shutdown"
    follow_ups = [r for r in runs.values() if r["id"] > run_id]
    assert [r["status"] for r in follow_ups] == ["queued"]
    jobs = _query(
        cluster.database_url,
        f"SELECT count(*) FROM {queue.SCHEMA}.pgqueuer WHERE dedupe_key = "  # noqa: S608
        f"'run:{follow_ups[0]['id']}'",
    )
    assert jobs == [1]
