"""`todosync serve` as a real process on a real port (the scheduler's tests are in
`test_serve_scheduler.py`, the demo's in `test_demo.py`)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.runner import cli_env

STARTUP_TIMEOUT_S = 90.0  # imports alone take 10 s and more on a loaded machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(args: list[str], *, database_url: str | None, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "todosync", *args],
        cwd=cwd,
        env=cli_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_healthy(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{base_url} did not become healthy")


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Interrupts the server like Ctrl+C and checks that it exits promptly and cleanly."""
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"the server did not exit after SIGINT:\n{stderr}")
    assert process.returncode == 130, stderr  # the conventional status after Ctrl+C
    assert "Traceback" not in stderr
    return stdout, stderr


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes that a test started; any still running afterwards are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_serve_answers_on_the_given_host_and_port(
    database_url: str, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`serve --host --port` listens there, answers /healthz and /readyz, warns that no
    external token is set, and stops on SIGINT."""
    port = _free_port()
    process = _start(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        database_url=database_url,
        cwd=tmp_path,
    )
    processes.append(process)
    base_url = f"http://127.0.0.1:{port}"
    _wait_healthy(base_url, process)
    assert httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    assert httpx.get(f"{base_url}/api/todolists", timeout=5).status_code == 401
    _, stderr = _stop(process)
    # no external token is set in this test's environment: said once, at start
    assert stderr.count("no TODOSYNC_EXTERNAL_API_TOKEN") == 1
