"""What `serve` and `fake-external` write to stderr: with `TODOSYNC_LOG_FORMAT=json` one JSON
object per line, the access log included, with no token in it (a query string's values are
redacted), and each line naming the server that wrote it."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.cli.runner import run_cli
from tests.cli.serving import ServerProcess

REQUESTS = 40


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of `stderr` as a JSON object (fails on a line that is not one)."""
    lines = stderr.strip().splitlines()
    assert lines
    return [json.loads(line) for line in lines]


def test_serve_writes_json_only_and_keeps_tokens_out_of_its_access_log(
    database_url: str, tmp_path: Path
) -> None:
    """Under a burst of requests, some with a token in `?access_token=`, every line of `serve`'s
    stderr is a JSON object, each request has its access line with the query values
    redacted, and the token appears nowhere."""
    token = run_cli("tokens", "create", database_url=database_url, cwd=tmp_path).stdout.strip()
    assert token.startswith("tds_")
    server = ServerProcess(
        ["serve"],
        database_url=database_url,
        cwd=tmp_path,
        TODOSYNC_LOG_FORMAT="json",
        TODOSYNC_SYNC_INTERVAL_SECONDS="0",
    )
    try:
        server.wait_healthy()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for n in range(REQUESTS):
                answer = client.get(
                    "/api/todolists",
                    params={"access_token": token, "n": n},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.status_code == 422  # the API refuses unknown query parameters
        server.send(signal.SIGINT)
        server.wait_exit()
    finally:
        server.close()

    assert token not in server.stderr + server.stdout
    lines = _json_lines(server.stderr)
    access = [line for line in lines if line.get("logger") == "todosync.access"]
    listed = [line for line in access if line["path"].startswith("/api/todolists")]
    assert len(listed) == REQUESTS
    assert {line["path"] for line in listed} == {
        "/api/todolists?access_token=[redacted]&n=[redacted]"
    }
    assert {(line["method"], line["status"]) for line in listed} == {("GET", 422)}
    assert {line.get("server") for line in lines if line["logger"].startswith("uvicorn")} == {
        "todosync"
    }


def test_fake_external_writes_json_lines_naming_itself(tmp_path: Path) -> None:
    """`todosync fake-external` under `TODOSYNC_LOG_FORMAT=json` logs its start, its requests
    (query values redacted) and its stop as JSON objects that name the fake."""
    fake = ServerProcess(
        ["fake-external"], database_url=None, cwd=tmp_path, TODOSYNC_LOG_FORMAT="json"
    )
    try:
        fake.wait_for_output("Application startup complete")
        answer = httpx.get(f"{fake.base_url}/todolists?access_token=secret-value", timeout=10)
        assert answer.status_code == 200
        fake.send(signal.SIGINT)
        fake.wait_exit()
    finally:
        fake.close()

    assert "secret-value" not in fake.stderr
    lines = _json_lines(fake.stderr)
    access = [line for line in lines if line.get("logger") == "todosync.access"]
    assert [line["path"] for line in access] == ["/todolists?access_token=[redacted]"]
    served = [line for line in lines if line["logger"].startswith(("uvicorn", "todosync.access"))]
    assert len(served) > len(access)  # its start and stop lines, too
    assert {line.get("server") for line in served} == {"fake-external"}
