"""Two tenants, each with its own external account (a fake external API in a process of its
own, with its own token), syncing at once in one `todosync serve` (and, on PostgreSQL, in two
`todosync worker` processes beside a distributed `serve`). Set up through the CLI as a user
would; checked through the REST API, the fakes and the database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.cli.runner import cli_env, run_cli
from tests.cli.serving import ServerProcess
from tests.fixtures.fake_external import FakeExternal
from tests.fixtures.fake_process import fake_process
from todosync.store.models import Connection, Tenant
from todosync.sync.books.models import SyncRun

T = TypeVar("T")
WAIT_S = 90.0
TOKENS = {"north": "north-external-token-1", "south": "south-external-token-2"}


@dataclass
class Account:
    """A tenant, its API token for our REST API, and its external account (a fake)."""

    name: str
    api_token: str
    fake: FakeExternal

    def api(self, server: ServerProcess) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.api_token}"}
        return httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10)


@dataclass
class Site:
    """The CLI over the test database, in a work folder, with the secret key set."""

    database_url: str
    workdir: Path
    key: str

    def cli(self, *args: str, **env: str) -> str:
        done = run_cli(
            *args,
            database_url=self.database_url,
            cwd=self.workdir,
            timeout_s=60,
            **{"TODOSYNC_SECRET_KEY": self.key, **env},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def serve(self, **env: str) -> ServerProcess:
        server = ServerProcess(
            ["serve"], database_url=self.database_url, cwd=self.workdir, **self.env(**env)
        )
        server.wait_healthy()
        return server

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "TODOSYNC_SECRET_KEY": self.key,
            "TODOSYNC_SYNC_INTERVAL_SECONDS": "1",
            "TODOSYNC_TOKEN_CACHE_SECONDS": "0",
            "TODOSYNC_LOG_LEVEL": "INFO",
            **extra,
        }


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Site:
    key = run_cli("secrets", "new-key", database_url=None, cwd=tmp_path).stdout.strip()
    return Site(database_url=database_url, workdir=tmp_path, key=key)


@pytest.fixture
def accounts(site: Site) -> Iterator[dict[str, Account]]:
    """Tenants north and south, each connected (every second) to a fake of its own holding
    one remote list; the default connection is disabled (not under test)."""
    with (
        fake_process(site.workdir, token=TOKENS["north"]) as north,
        fake_process(site.workdir, token=TOKENS["south"]) as south,
    ):
        found = {}
        for name, fake in (("north", north), ("south", south)):
            fake.create_list(f"{name} remote", items=[f"{name} item"])
            token_file = site.workdir / f"{name}.token"
            token_file.write_text(TOKENS[name], encoding="utf-8")
            site.cli("tenants", "create", name)
            site.cli(
                "connections", "create", "--tenant", name, "--url", fake.url,
                "--token-file", str(token_file), "--interval", "1",
            )  # fmt: skip
            api_token = site.cli("tokens", "create", "--tenant", name).strip()
            found[name] = Account(name=name, api_token=api_token, fake=fake)
        site.cli("connections", "disable", "1")
        yield found


async def _eventually(check: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)
    return found


async def _names(account: Account, server: ServerProcess) -> set[str]:
    async with account.api(server) as api:
        response = await api.get("/api/todolists")
    assert response.status_code == 200, response.text
    return {todo["name"] for todo in response.json()["data"]}


def _remote_names(account: Account) -> set[str]:
    return {todo["name"] for todo in account.fake.state()}


async def _converged(accounts: dict[str, Account], server: ServerProcess, extra: str) -> None:
    """Each tenant's lists, here and in its own account: its remote list and `extra`."""
    for account in accounts.values():
        want = {f"{account.name} remote", f"{account.name} {extra}"}

        async def same(account: Account = account, want: set[str] = want) -> bool:
            return _remote_names(account) == want and await _names(account, server) == want

        await _eventually(same, what=f"{account.name} to converge on {want}")


async def _run_ids(account: Account, server: ServerProcess) -> set[int]:
    async with account.api(server) as api:
        response = await api.get("/api/sync/runs", params={"limit": 200})
    assert response.status_code == 200, response.text
    return {run["id"] for run in response.json()["data"]}


def _assert_no_plaintext_token(database_url: str, sessionmaker_rows: list[Any]) -> None:
    """No column of any connection, and for SQLite no byte of the database files, holds a
    token in plaintext."""
    dumped = repr(sessionmaker_rows)
    for token in TOKENS.values():
        assert token not in dumped
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(f"{path.name}-wal")):
            if file.exists():
                assert not _file_holds(file, list(TOKENS.values()))


# Read in another process: closing a descriptor of a SQLite file drops every lock this process
# holds on it (POSIX advisory locks), which lets a concurrent writer corrupt the database.
_HOLDS = (
    "import sys; data = open(sys.argv[1], 'rb').read(); "
    "print(any(t.encode() in data for t in sys.argv[2:]))"
)


def _file_holds(file: Path, needles: list[str]) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", _HOLDS, str(file), *needles],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip() == "True"


class Workers:
    """`todosync worker` processes (distributed mode), logs in files, killed on exit."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for n in range(count):
            with (self.site.workdir / f"worker-{n}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "todosync", "worker"],
                        cwd=self.site.workdir,
                        env=cli_env(
                            self.site.database_url,
                            **self.site.env(TODOSYNC_RUN_MODE="distributed"),
                        ),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("mode", ["embedded", "distributed"])
async def test_two_tenants_sync_their_own_accounts_at_once_and_see_only_their_own(
    mode: str,
    is_postgres: bool,
    site: Site,
    accounts: dict[str, Account],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Both converge with their own account, in one `serve` (or two workers); neither's
    lists, runs or remote data reach the other; no token is stored in plaintext; after a
    key rotation (new key first, `secrets rotate`, old key removed) both keep syncing."""
    if mode == "distributed" and not is_postgres:
        pytest.skip("the distributed mode needs PostgreSQL (TODOSYNC_TEST_DATABASE_URL)")
    workers = Workers(site)
    server_env = {"TODOSYNC_RUN_MODE": mode}
    server = site.serve(**server_env)
    try:
        if mode == "distributed":
            workers.start(2)
        for account in accounts.values():
            async with account.api(server) as api:
                created = await api.post("/api/todolists", json={"name": f"{account.name} local"})
                assert created.status_code == 201, created.text
        await _converged(accounts, server, "local")

        north, south = accounts["north"], accounts["south"]
        north_runs, south_runs = await _run_ids(north, server), await _run_ids(south, server)
        assert north_runs
        assert south_runs
        assert not north_runs & south_runs
        async with north.api(server) as api:
            response = await api.get(f"/api/sync/runs/{min(south_runs)}")
            assert response.status_code == 404
            # a manual trigger runs north's own connection, against north's own account
            north.fake.create_list("north triggered")
            queued = await api.post("/api/sync", json={})
            assert queued.status_code == 202, queued.text
            run_id = queued.json()["run_id"]

            async def triggered_run() -> dict[str, Any] | None:
                found = (await api.get(f"/api/sync/runs/{run_id}")).json()
                return found if found["status"] not in ("queued", "running") else None

            assert (await _eventually(triggered_run, what="the triggered run"))["status"] == "ok"
        assert "north triggered" in await _names(north, server)
        assert run_id not in await _run_ids(south, server)
        async with sessionmaker() as session:
            rows = (await session.execute(sa.select(Connection.__table__))).all()
        _assert_no_plaintext_token(site.database_url, list(rows))

        server.close()
        workers.close()
        new_key = run_cli("secrets", "new-key", database_url=None, cwd=site.workdir).stdout
        site.cli("secrets", "rotate", TODOSYNC_SECRET_KEY=f"{new_key.strip()},{site.key}")
        site.key = new_key.strip()  # the old key is gone from here on
        server = site.serve(**server_env)
        workers = Workers(site)
        if mode == "distributed":
            workers.start(2)
        for account in accounts.values():
            account.fake.create_list(f"{account.name} rotated")
        for account in accounts.values():
            want = {f"{account.name} {n}" for n in ("remote", "local", "rotated")}
            want |= {"north triggered"} if account.name == "north" else set()

            async def arrived(account: Account = account, want: set[str] = want) -> bool:
                return await _names(account, server) == want

            await _eventually(arrived, what=f"{account.name}'s list after the rotation")
    finally:
        server.close()
        workers.close()


async def test_a_disabled_tenant_stops_syncing_and_its_tokens_get_401(
    site: Site, accounts: dict[str, Account], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """`tenants disable south`: south's token is refused, its account gets no more requests
    and it gets no new run, while north goes on syncing; its data stays."""
    north, south = accounts["north"], accounts["south"]
    server = site.serve()
    try:
        for account in accounts.values():

            async def pulled(account: Account = account) -> bool:
                return await _names(account, server) == {f"{account.name} remote"}

            await _eventually(pulled, what=f"{account.name}'s first sync")
        site.cli("tenants", "disable", "south")
        async with south.api(server) as api:
            assert (await api.get("/api/todolists")).status_code == 401

        async def south_idle() -> bool:
            return not [
                r for r in await _tenant_runs(sessionmaker, "south") if r.finished_at is None
            ]

        await _eventually(south_idle, what="south's last run to end")
        seen_requests = south.fake.request_count()
        south_runs = len(await _tenant_runs(sessionmaker, "south"))
        north.fake.create_list("north later")
        want = {"north remote", "north later"}

        async def north_synced() -> bool:
            return await _names(north, server) == want

        await _eventually(north_synced, what="north to keep syncing")
        before = len(await _tenant_runs(sessionmaker, "north"))

        async def two_more_north_runs() -> bool:
            return len(await _tenant_runs(sessionmaker, "north")) >= before + 2

        await _eventually(two_more_north_runs, what="two more periodic runs of north")
        assert south.fake.request_count() == seen_requests
        assert len(await _tenant_runs(sessionmaker, "south")) == south_runs
    finally:
        server.close()
    site.cli("tenants", "enable", "south")
    server = site.serve()
    try:
        assert await _names(south, server) == {"south remote"}  # its data stayed
    finally:
        server.close()


async def _tenant_runs(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: str
) -> list[SyncRun]:
    statement = (
        sa.select(SyncRun)
        .join(Connection, Connection.id == SyncRun.connection_id)
        .join(Tenant, Tenant.id == Connection.tenant_id)
        .where(Tenant.name == tenant)
    )
    async with sessionmaker() as session:
        return list((await session.execute(statement)).scalars())
