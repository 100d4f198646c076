"""Running the fake in a thread: a free port, and a prompt stop even with requests held."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from todosync.fake_external import config, faults, server


def test_stop_ends_requests_that_hang_forever() -> None:
    """Stopping the server drops a request held by a timeout fault and returns promptly."""
    settings = config.ServerConfig(
        port=0, faults=faults.FaultConfig(rules=[faults.FaultRule(kind="timeout")])
    )
    running = server.start_in_thread(settings)
    with httpx.Client(base_url=running.url) as client, ThreadPoolExecutor(1) as pool:
        future = pool.submit(client.get, "/todolists", timeout=30)
        while not running.runtime.held:
            time.sleep(0.01)
        started = time.monotonic()
        running.stop()
        assert time.monotonic() - started < 5
        with pytest.raises(httpx.TransportError):
            future.result(timeout=5)


def test_port_zero_picks_a_free_loopback_port() -> None:
    """With port 0 the server listens on a free port and reports it in its URL."""
    running = server.start_in_thread(config.ServerConfig(port=0))
    try:
        assert running.url.startswith("http://127.0.0.1:")
        assert not running.url.endswith(":0")
        assert httpx.get(f"{running.url}/todolists").status_code == 200
    finally:
        running.stop()
