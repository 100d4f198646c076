"""`todosync sync` and `todosync verify` as a user runs them: subprocesses against the fake."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from typing import Any

from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import remote_list_id


def _run(
    database_url: str, fake: FakeExternal, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "TODOSYNC_DATABASE_URL": database_url,
        "TODOSYNC_EXTERNAL_API_URL": fake.url,
        "TODOSYNC_EXTERNAL_API_TOKEN": fake.token or "",
        "TODOSYNC_EXTERNAL_MAX_ATTEMPTS": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "todosync", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def _last_json(stdout: str) -> dict[str, Any]:
    decoded = json.loads(stdout.strip().splitlines()[-1])
    assert isinstance(decoded, dict)
    return decoded


def test_sync_json_reports_the_run_and_exits_0(
    database_url: str, fake_external: FakeExternal
) -> None:
    """A successful sync ends stdout with the run object that DESIGN.md defines."""
    fake_external.create_list("Groceries", items=["Milk"])

    result = _run(database_url, fake_external, "sync", "--json")

    assert result.returncode == 0, result.stderr
    report = _last_json(result.stdout)
    assert report["status"] == "ok"
    assert report["dry_run"] is False
    assert report["api_calls"] == 1
    assert report["counts"]["local"]["created"] == 2
    assert {"run_id", "clock_skew_s", "duration_s", "errors"} <= report.keys()


def test_sync_without_json_prints_one_summary_line(
    database_url: str, fake_external: FakeExternal
) -> None:
    """Off a terminal, a sync prints exactly one line of summary."""
    result = _run(database_url, fake_external, "sync")

    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    assert line.startswith("run ")
    assert " ok:" in line


def test_dry_run_prints_the_plan_and_writes_nothing(
    database_url: str, fake_external: FakeExternal
) -> None:
    """`--dry-run --json` includes the plan; a following verify still sees the drift."""
    fake_external.create_list("Groceries", items=["Milk"])

    dry = _run(database_url, fake_external, "sync", "--dry-run", "--json")
    verify = _run(database_url, fake_external, "verify", "--json")

    assert dry.returncode == 0, dry.stderr
    report = _last_json(dry.stdout)
    assert report["dry_run"] is True
    assert [(p["kind"], p["side"], p["action"]) for p in report["plan"]] == [
        ("list", "local", "create")
    ]
    assert verify.returncode == 3
    assert _last_json(verify.stdout)["converged"] is False


def test_verify_finds_out_of_band_drift(database_url: str, fake_external: FakeExternal) -> None:
    """After a sync, verify exits 0; a remote edit made behind its back is reported, exit 3."""
    fake_external.create_list("Groceries", items=["Milk"])
    assert _run(database_url, fake_external, "sync").returncode == 0
    assert _run(database_url, fake_external, "verify").returncode == 0

    fake_external.update_list(remote_list_id(fake_external.state(), "Groceries"), name="Changed")
    result = _run(database_url, fake_external, "verify", "--json")

    assert result.returncode == 3
    (drift,) = _last_json(result.stdout)["drift"]
    assert drift == {
        "kind": "list",
        "problem": "field_differs",
        "local_id": drift["local_id"],
        "external_id": drift["external_id"],
        "field": "name",
    }


def test_an_unreachable_api_is_degraded_with_exit_4(
    database_url: str, fake_external: FakeExternal
) -> None:
    """With nothing listening at the external URL, the run ends degraded and exits 4; its
    retries are told in one line naming the host, not a record per retry."""
    result = _run(
        database_url,
        fake_external,
        "sync",
        "--json",
        TODOSYNC_EXTERNAL_API_URL="http://127.0.0.1:9",
        TODOSYNC_EXTERNAL_MAX_ATTEMPTS="4",
    )

    assert result.returncode == 4, result.stderr
    assert _last_json(result.stdout)["status"] == "degraded"
    retry_lines = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(retry_lines) == 1, result.stderr
    assert "external API at 127.0.0.1:9 failing" in retry_lines[0]
    assert "<context block>" not in result.stderr


def test_a_rejected_token_fails_at_once_without_showing_it(
    database_url: str, fake_external: FakeExternal
) -> None:
    """A 401 ends the run with exit 1 after one request, and the token is never printed."""
    secret = "wrong-token-that-must-not-leak"
    result = _run(database_url, fake_external, "sync", "--json", TODOSYNC_EXTERNAL_API_TOKEN=secret)

    assert result.returncode == 1
    report = _last_json(result.stdout)
    assert report["status"] == "failed"
    assert "TODOSYNC_EXTERNAL_API_TOKEN" in report["reason"]
    assert secret not in result.stdout + result.stderr
    assert fake_external.request_count() == 1


def test_an_unknown_list_is_one_line_and_exit_1(
    database_url: str, fake_external: FakeExternal
) -> None:
    """`--list` with an id that does not exist gives one line on stderr, no traceback."""
    result = _run(database_url, fake_external, "sync", "--list", "999999")

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "999999" in result.stderr


def _run_on_terminal(database_url: str, fake: FakeExternal, *args: str) -> tuple[int, str]:
    """Runs the CLI with stdout and stderr on a pseudo-terminal; returns (exit code, output)."""
    controller, terminal = pty.openpty()
    environment = {
        **os.environ,
        "TODOSYNC_DATABASE_URL": database_url,
        "TODOSYNC_EXTERNAL_API_URL": fake.url,
        "TODOSYNC_EXTERNAL_API_TOKEN": fake.token or "",
        "TERM": "xterm-256color",
        "COLUMNS": "100",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "todosync", *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=environment,
    )
    os.close(terminal)
    output = bytearray()
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: every writer of the terminal has closed it
            break
        if not chunk:
            break
        output.extend(chunk)
    os.close(controller)
    return process.wait(timeout=60), output.decode(errors="replace")


def test_on_a_terminal_a_sync_shows_a_progress_bar(
    database_url: str, fake_external: FakeExternal
) -> None:
    """On a terminal the sync draws rich's progress bar, then prints its summary line."""
    for number in range(3):
        fake_external.create_list(f"List {number}", items=["One", "Two"])

    code, output = _run_on_terminal(database_url, fake_external, "sync")

    assert code == 0, output
    assert "syncing" in output  # the bar's label, drawn before the run's first action
    assert "\x1b[" in output  # drawn with terminal control sequences
    assert " ok:" in output  # the summary line


def test_verify_names_remote_entities_the_sync_could_not_read(
    database_url: str, fake_external: FakeExternal
) -> None:
    """A remote list the sync quarantined (bad data) is missing locally: verify names it with
    the reason and exits 3 instead of saying converged."""
    fake_external.create_list("Groceries", items=["Milk"])
    fake_external.load_state(
        [*fake_external.state(), {"id": "broken-list", "name": "Broken", "items": "oops"}]
    )
    assert _run(database_url, fake_external, "sync").returncode == 3  # partial: quarantined

    result = _run(database_url, fake_external, "verify", "--json")

    assert result.returncode == 3
    report = _last_json(result.stdout)
    assert report["converged"] is False
    (drift,) = report["drift"]
    assert (drift["kind"], drift["problem"], drift["external_id"]) == (
        "list",
        "unreadable_remotely",
        "broken-list",
    )
    assert "items" in drift["reason"]


def test_a_reset_account_is_held_then_restored_with_restore_remote(
    database_url: str, fake_external: FakeExternal
) -> None:
    """A wiped external side holds the run (exit 3, the reason names both ways on);
    `--restore-remote` pushes the local lists again (exit 0) and deletes nothing here."""
    fake_external.create_list("Groceries", items=["Milk", "Eggs"])
    assert _run(database_url, fake_external, "sync").returncode == 0
    fake_external.load_state([])

    held = _run(database_url, fake_external, "sync", "--json")
    assert held.returncode == 3, held.stderr
    assert _last_json(held.stdout)["status"] == "held"

    restored = _run(database_url, fake_external, "sync", "--restore-remote", "--json")

    assert restored.returncode == 0, restored.stderr
    assert _last_json(restored.stdout)["counts"]["remote"]["created"] == 3
    (todo,) = fake_external.state()
    assert todo["name"] == "Groceries"
    assert sorted(item["description"] for item in todo["items"]) == ["Eggs", "Milk"]
