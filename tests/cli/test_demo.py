"""`todosync demo` as a real process: URLs and a token, a periodic run within its interval, and
a clean stop on SIGINT."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.cli.serving import ServerProcess
from todosync.demo import DEMO_INTERVAL_S
from todosync.sync.books.models import SyncRun

# The first run is queued at start (the next periodic one comes an interval later, +10 %
# jitter); allow for a slow start.
RUN_DEADLINE_S = DEMO_INTERVAL_S * 1.1 + 15


def _children(pid: int) -> set[int]:
    """Ids of the live processes whose parent is `pid` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _field(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, text
    return match.group(1)


@pytest.fixture
def demo(tmp_path: Path) -> ServerProcess:
    """`todosync demo` in an empty directory with no settings at all, running and healthy."""
    server = ServerProcess(["demo"], database_url=None, cwd=tmp_path)
    try:
        server.wait_healthy()
        server.wait_for_output("Sync:", stderr=False)
    except BaseException:
        server.close()
        raise
    return server


def test_demo_prints_urls_and_a_working_token_and_syncs_on_its_own(
    demo: ServerProcess, tmp_path: Path
) -> None:
    """The demo announces API, docs and fake URLs and a token; within its interval a periodic
    run brings the fake's sample lists in; SIGINT ends it with one line, status 0 and no child
    left."""
    try:
        text = demo.stdout
        assert f"{demo.base_url}/docs" in text
        assert f"{demo.base_url}/api/todolists" in text
        # the dashboard's URL is announced exactly when the app serves one
        dashboard = httpx.get(f"{demo.base_url}/dashboard", timeout=5, follow_redirects=False)
        assert (f"{demo.base_url}/dashboard" in text) == (dashboard.status_code != 404)
        assert "/dashboard (sign in with the token)" in text
        assert "it syncs now, then every" in text
        token = _field(r"Token:\s+(tds_\S+)", text)
        fake_url = _field(r"Fake external:\s+(\S+)/todolists", text)
        samples = httpx.get(f"{fake_url}/todolists", timeout=5).json()
        assert samples, "the bundled fake starts with sample lists"
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{demo.base_url}/healthz", timeout=5).status_code == 200

        deadline = time.monotonic() + RUN_DEADLINE_S
        while True:
            runs = httpx.get(f"{demo.base_url}/api/sync/runs", headers=headers, timeout=5)
            done = [r for r in runs.json()["data"] if r["finished_at"]]
            if done:
                break
            assert time.monotonic() < deadline, f"no run within the interval:\n{demo.stderr}"
            time.sleep(0.2)
        assert (done[0]["trigger"], done[0]["status"]) == ("schedule", "ok")
        lists = httpx.get(f"{demo.base_url}/api/todolists", headers=headers, timeout=5).json()
        assert sorted(t["name"] for t in lists["data"]) == sorted(t["name"] for t in samples)

        children = _children(demo.process.pid)
        demo.send(signal.SIGINT)
        assert demo.wait_exit() == 0  # Ctrl+C is how a demo ends
        assert "Traceback" not in demo.stderr
        assert "todosync demo stopped" in demo.stderr.rstrip().splitlines()[-1]
        # the shutdown lines of `serve`'s server, once: the fake in its thread stays quiet
        assert demo.stderr.count("Application shutdown complete.") == 1
        assert "path=/healthz" in demo.stderr  # the access log goes to stderr...
        assert "/healthz" not in demo.stdout  # ...so that stdout is the announcement alone
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{fake_url}/todolists", timeout=2)
        assert (tmp_path / "todosync.db").exists()
    finally:
        demo.close()


def test_demo_uses_the_configured_database_and_interval(
    database_url: str, blocking_engine: sa.Engine, tmp_path: Path
) -> None:
    """With TODOSYNC_DATABASE_URL and TODOSYNC_SYNC_INTERVAL_SECONDS set, the demo records its
    periodic runs in that database at that interval, and stops on SIGTERM."""
    demo = ServerProcess(
        ["demo"], database_url=database_url, cwd=tmp_path, TODOSYNC_SYNC_INTERVAL_SECONDS="1"
    )
    try:
        demo.wait_healthy()
        assert "syncs now, then every 1 s" in demo.wait_for_output("Sync:", stderr=False)
        deadline = time.monotonic() + RUN_DEADLINE_S
        while True:
            with blocking_engine.connect() as connection:
                statement = sa.select(sa.func.count()).where(
                    SyncRun.trigger == "schedule", SyncRun.status == "ok"
                )
                if connection.execute(statement).scalar_one() >= 2:
                    break
            assert time.monotonic() < deadline, f"no periodic runs:\n{demo.stderr}"
            time.sleep(0.2)
        demo.send(signal.SIGTERM)
        assert demo.wait_exit() == -signal.SIGTERM
        assert not (tmp_path / "todosync.db").exists()
    finally:
        demo.close()
