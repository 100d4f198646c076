"""`todosync fake-external`: options become settings and fault rules; it runs as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from todosync.fake_external import cli
from todosync.fake_external.faults import FaultRule


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, *, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(f"{url}/__control/config", timeout=1.0)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the fake did not start"
            time.sleep(0.1)


def test_zero_rates_make_no_rules() -> None:
    """Without fault options the server starts without fault rules."""
    assert cli.fault_rules() == []


def test_fault_options_become_rules_in_a_fixed_order() -> None:
    """Each fault option becomes one rule; ambiguous writes target only writes."""
    rules = cli.fault_rules(
        latency_ms=50,
        drop_rate=0.1,
        timeout_rate=0.2,
        hang_s=3.0,
        rate_limit_rate=0.3,
        retry_after_s=4,
        retry_after_http_date=True,
        error_rate=0.4,
        ambiguous_write_rate=0.5,
        ambiguous_mode="applied_then_drop",
    )
    assert [rule.kind for rule in rules] == [
        "latency",
        "drop",
        "timeout",
        "rate_limit",
        "error",
        "applied_then_drop",
    ]
    assert rules[2] == FaultRule(kind="timeout", rate=0.2, hang_s=3.0)
    assert rules[3].retry_after_form == "http-date"
    assert rules[3].retry_after_s == 4
    assert rules[5].methods == ["POST", "PATCH", "DELETE"]


def test_command_serves_with_its_options_until_interrupted() -> None:
    """The command runs a real server with the given options and stops cleanly on SIGINT."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "todosync",
        "fake-external",
        "--port",
        str(port),
        "--seed-sample",
        "--rate-limit-rate",
        "1",
        "--retry-after",
        "9",
        "--page-size",
        "2",
        "--clock-offset-seconds",
        "60",
        "--item-create-extension",
        "--no-validation",
        "--empty-patch-bumps",
        "--no-bump-list-on-item-write",  # the name for --no-bump-list-on-item-change
    ]
    env = {**os.environ, "TODOSYNC_FAKE_TOKEN": "cli-token"}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            wait_until_up(url)
            settings = httpx.get(f"{url}/__control/config").json()
            response = httpx.get(f"{url}/todolists", headers={"Authorization": "Bearer cli-token"})
            assert (response.status_code, response.headers["retry-after"]) == (429, "9")
            state = httpx.get(f"{url}/__control/state").json()
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=20)
    # uvicorn re-raises the SIGINT after its clean shutdown; the CLI turns that into 130.
    assert process.returncode == 130, stderr
    assert "Finished server process" in stderr
    assert settings == {
        "token": "cli-token",
        "clock_offset_s": 60.0,
        "page_size": 2,
        "item_create": True,
        "bump_list_on_item_change": False,
        "validation": False,
        "empty_patch_bumps": True,
    }
    assert len(state) == 3
