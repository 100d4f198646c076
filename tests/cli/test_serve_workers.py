"""`todosync serve --workers N` as real processes: several children behind one port, the sync
role in exactly one of them, live events and dashboard sessions across them, and the crash and
stop policies. The refusals run everywhere; the rest needs PostgreSQL.

Which child answered a connection is read from /proc: the server's end of the connection is a
socket whose inode shows up among one child's open files.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.runner import run_cli
from tests.cli.serving import ServerProcess
from tests.fixtures.api import TenantToken
from tests.fixtures.fake_external import FakeExternal

WAIT_S = 60.0
_ROLE = re.compile(r"serve process (\d+): runs the scheduler and the dispatcher")
_API_ONLY = re.compile(r"serve process (\d+): serves the API only")


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    pid: int
    """The child process that served the connection."""


@dataclass
class Cluster:
    server: ServerProcess
    sync_pid: int
    api_pid: int

    @property
    def children(self) -> set[int]:
        return {self.sync_pid, self.api_pid}


@pytest.fixture
def start_cluster(
    database_url: str, is_postgres: bool, fake_external: FakeExternal, tmp_path: Path
) -> Iterator[Cluster]:
    """`serve --workers 2` against the fake, with periodic runs every second; killed at the
    end if still running."""
    if not is_postgres:
        pytest.skip("--workers 2 needs PostgreSQL (TODOSYNC_TEST_DATABASE_URL)")
    server = ServerProcess(
        ["serve", "--workers", "2"],
        database_url=database_url,
        cwd=tmp_path,
        TODOSYNC_EXTERNAL_API_URL=fake_external.url,
        TODOSYNC_EXTERNAL_API_TOKEN=fake_external.token or "",
        TODOSYNC_SYNC_INTERVAL_SECONDS="1",
        TODOSYNC_LOG_LEVEL="INFO",
    )
    try:
        server.wait_healthy()
        server.wait_for_output("serves the API only")
        log = server.wait_for_output("runs the scheduler and the dispatcher")
        (sync_pid,) = {int(pid) for pid in _ROLE.findall(log)}
        (api_pid,) = {int(pid) for pid in _API_ONLY.findall(server.stderr)}
        yield Cluster(server=server, sync_pid=sync_pid, api_pid=api_pid)
    finally:
        if server.process.poll() is None:
            server.send(signal.SIGTERM)
        server.wait_exit()


def _serving_pid(cluster: Cluster, client_port: int) -> int | None:
    """The child that holds the server's end of the connection from `client_port` (IPv4
    loopback), or None while no child has accepted it yet."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == cluster.server.port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            inode = fields[9]
    for pid in cluster.children:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(FileNotFoundError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
    return None


def _connect(cluster: Cluster) -> tuple[http.client.HTTPConnection, int]:
    """A new connection, and its local port."""
    connection = http.client.HTTPConnection("127.0.0.1", cluster.server.port, timeout=WAIT_S)
    connection.connect()
    assert connection.sock is not None
    return connection, connection.sock.getsockname()[1]


def _connection_to(cluster: Cluster, pid: int) -> http.client.HTTPConnection:
    """A new connection that child `pid` has accepted: opened in batches, since which child
    accepts one is the kernel's choice (a busy child accepts fewer)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        batch = [_connect(cluster) for _ in range(8)]
        owners: dict[int, int | None] = {port: None for _, port in batch}
        settle = time.monotonic() + 5
        while None in owners.values() and time.monotonic() < settle:
            owners = {port: owners[port] or _serving_pid(cluster, port) for port in owners}
            time.sleep(0.02)
        chosen = next((c for c, port in batch if owners[port] == pid), None)
        for connection, _ in batch:
            if connection is not chosen:
                connection.close()
        if chosen is not None:
            return chosen
    raise AssertionError(f"child {pid} accepted none of the connections")


def _request(
    cluster: Cluster,
    method: str,
    path: str,
    *,
    headers: dict[str, str],
    body: bytes | None = None,
    pid: int | None = None,
) -> Answer:
    """One request on a new connection (accepted by child `pid`, if given)."""
    if pid is None:
        connection, client_port = _connect(cluster)
    else:
        connection = _connection_to(cluster, pid)
        assert connection.sock is not None
        client_port = connection.sock.getsockname()[1]
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        served_by = _serving_pid(cluster, client_port)
        assert served_by is not None
        return Answer(status=response.status, headers=response.headers, body=data, pid=served_by)
    finally:
        connection.close()


def _on_each_child(
    cluster: Cluster, method: str, path: str, *, headers: dict[str, str]
) -> dict[int, Answer]:
    """The request sent to each child once."""
    return {
        pid: _request(cluster, method, path, headers=headers, pid=pid)
        for pid in sorted(cluster.children)
    }


def _whole_run(kinds: list[str]) -> bool:
    """Whether the events' kinds hold a `run.started` followed by a `run.finished`."""
    return "run.started" in kinds and "run.finished" in kinds[kinds.index("run.started") :]


def _wait_for_run(cluster: Cluster, tenant: TenantToken, run_id: int) -> dict[str, object]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        answer = _request(cluster, "GET", f"/api/sync/runs/{run_id}", headers=tenant.headers)
        run: dict[str, object] = json.loads(answer.body)
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def test_two_children_serve_one_port_and_one_of_them_runs_the_syncs(
    start_cluster: Cluster, tenant: TenantToken, fake_external: FakeExternal
) -> None:
    """Both children answer API requests on the one port; only one runs the scheduler and the
    dispatcher, and it carries out the runs queued through either child."""
    cluster = start_cluster
    fake_external.create_list("Groceries", items=["Milk"])
    assert cluster.sync_pid != cluster.api_pid
    for pid in cluster.children:  # children of the one parent
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert ppid == cluster.server.process.pid

    posted = _on_each_child(cluster, "POST", "/api/sync", headers=tenant.headers)
    for answer in posted.values():
        assert answer.status == 202, answer.body
        run = _wait_for_run(cluster, tenant, json.loads(answer.body)["run_id"])
        assert run["status"] == "ok", run
    listed = _on_each_child(cluster, "GET", "/api/todolists", headers=tenant.headers)
    for answer in listed.values():
        assert [todo["name"] for todo in json.loads(answer.body)["data"]] == ["Groceries"]

    log = cluster.server.wait_for_output("queued 1 periodic run(s)")
    assert len(_ROLE.findall(log)) == 1
    # every line of the scheduler and of a run's outcome comes from the sync-role child
    for line in log.splitlines():
        if "periodic run(s)" in line or re.search(r"connection 1: run \d+ ", line):
            assert f"server=todosync[{cluster.sync_pid}]" in line, line


def test_live_events_and_dashboard_sessions_cross_the_children(
    start_cluster: Cluster, tenant: TenantToken
) -> None:
    """An event stream opened on the API-only child gets the runs of the sync-role child, and
    a dashboard session started on one child is good on the other (one signing key)."""
    cluster = start_cluster
    connection = _connection_to(cluster, cluster.api_pid)
    connection.request("GET", "/api/events", headers=tenant.headers)
    response = connection.getresponse()
    assert response.status == 200
    try:
        _request(cluster, "POST", "/api/sync", headers=tenant.headers)
        kinds: list[str] = []
        # a whole run, started and finished (periodic runs come every second, so the first
        # event seen may be the end of one that started before the stream)
        while not _whole_run(kinds):
            line = response.fp.readline().decode()
            assert line, f"the stream ended after {kinds}"
            if line.startswith("event:"):
                kinds.append(line.split(":", 1)[1].strip())
    finally:
        response.close()
        connection.close()

    pages = _on_each_child(cluster, "GET", "/dashboard/sign-in", headers={})
    first, second = pages[cluster.sync_pid], pages[cluster.api_pid]
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', first.body)
    assert csrf is not None
    cookie = first.headers["set-cookie"].split(";", 1)[0]
    form = f"csrf_token={csrf.group(1).decode()}&token={tenant.token}".encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    # the form goes to the other child than the one that made the cookie
    signed_in = _request(
        cluster, "POST", "/dashboard/sign-in", headers=headers, body=form, pid=second.pid
    )
    assert signed_in.status == 303, signed_in.body


def test_a_child_that_dies_stops_the_server_with_status_1(start_cluster: Cluster) -> None:
    """SIGKILL to the sync-role child: the parent stops the other child and exits 1 with one
    line that says which process ended and how."""
    cluster = start_cluster
    os.kill(cluster.sync_pid, signal.SIGKILL)
    assert cluster.server.wait_exit() == 1
    error = f"todosync: error: serve process {cluster.sync_pid} was killed by SIGKILL"
    assert cluster.server.stderr.rstrip().splitlines()[-1] == error
    assert "Traceback" not in cluster.server.stderr
    assert not Path(f"/proc/{cluster.api_pid}").exists()


def test_sigterm_stops_every_child_and_exits_0(start_cluster: Cluster) -> None:
    """SIGTERM to the parent stops both children gracefully, and the parent exits 0."""
    cluster = start_cluster
    cluster.server.send(signal.SIGTERM)
    assert cluster.server.wait_exit() == 0
    assert cluster.server.stderr.count("Application shutdown complete") == 2
    assert "Traceback" not in cluster.server.stderr
    assert not any(Path(f"/proc/{pid}").exists() for pid in cluster.children)


def test_no_child_runs_syncs_in_the_distributed_mode(
    database_url: str, is_postgres: bool, tmp_path: Path
) -> None:
    """With TODOSYNC_RUN_MODE=distributed both children serve the API only (the workers run
    the syncs)."""
    if not is_postgres:
        pytest.skip("the distributed mode needs PostgreSQL (TODOSYNC_TEST_DATABASE_URL)")
    server = ServerProcess(
        ["serve", "--workers", "2"],
        database_url=database_url,
        cwd=tmp_path,
        TODOSYNC_RUN_MODE="distributed",
        TODOSYNC_LOG_LEVEL="INFO",
    )
    try:
        server.wait_healthy()
        deadline = time.monotonic() + WAIT_S
        while len(_API_ONLY.findall(server.stderr)) < 2:
            assert time.monotonic() < deadline, server.stderr
            time.sleep(0.1)
        assert not _ROLE.search(server.stderr)
    finally:
        server.send(signal.SIGTERM)
        assert server.wait_exit() == 0


def test_several_processes_over_sqlite_are_refused(tmp_path: Path) -> None:
    """`--workers 2` over SQLite ends at once with one line that says why, and exit 1."""
    done = run_cli(
        "serve", "--workers", "2", database_url=f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "todosync: error: --workers 2 needs PostgreSQL: SQLite takes one writer at a time, so "
        "several processes would only wait for each other (use --workers 1)"
    ]


def test_no_process_at_all_is_refused(tmp_path: Path) -> None:
    """`--workers 0` is a usage error: one line, exit 2."""
    done = run_cli("serve", "--workers", "0", database_url=None, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "todosync: error: --workers must be at least 1 (got 0)"
    ]
