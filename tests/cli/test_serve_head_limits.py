"""`serve` bounds a request's head: too large gets 431 before it is read in full, too slow
gets 408 and a closed connection; other clients are served meanwhile."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.serving import ServerProcess

MAX_HEADER_BYTES = 4096
HEADER_TIMEOUT_S = 1.0


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """`todosync serve` with small head limits, running and healthy."""
    process = ServerProcess(
        ["serve"],
        database_url=database_url,
        cwd=tmp_path,
        TODOSYNC_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        TODOSYNC_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT_S),
        TODOSYNC_SYNC_INTERVAL_SECONDS="0",
    )
    try:
        process.wait_healthy()
        yield process
        process.send(signal.SIGINT)
        process.wait_exit()
    finally:
        process.close()


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _status_and_problem(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _send_until_closed(
    sock: socket.socket, piece: bytes, *, server: ServerProcess, pause_s: float, limit: int
) -> int:
    """Sends `piece` up to `limit` times, checking between two that other clients are served,
    until the server closes the connection; returns the bytes sent by then (fails if never)."""
    sent = 0
    for _ in range(limit):
        try:
            sock.sendall(piece)
        except OSError:  # reset or broken pipe: the server closed the connection
            return sent
        sent += len(piece)
        assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
        time.sleep(pause_s)
    pytest.fail(f"the server still reads after {sent} bytes")


def test_a_huge_header_is_refused_before_it_is_read(server: ServerProcess) -> None:
    """A 64 MB header sent in pieces is cut off after a few kilobytes (one piece past the
    limit, allowing for the kernel's buffers), and /healthz answers meanwhile."""
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ")
        sent = _send_until_closed(sock, b"x" * 65536, server=server, pause_s=0.01, limit=1024)
    assert sent < 8 * 1024 * 1024


def test_a_header_just_over_the_limit_gets_a_431_problem(server: ServerProcess) -> None:
    """A complete request whose head is over the limit gets 431 as problem+json."""
    with _connect(server) as sock:
        padding = b"a" * MAX_HEADER_BYTES
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Padding: " + padding)
        answer = _read_all(sock)
    status, problem = _status_and_problem(answer)
    assert status == 431
    assert problem["title"] == "Request Header Fields Too Large"
    assert b"content-type: application/problem+json" in answer.lower()


def test_a_head_below_the_limit_is_served(server: ServerProcess) -> None:
    """Headers that stay under the limit reach the app as usual."""
    headers = {"X-Padding": "a" * (MAX_HEADER_BYTES // 2)}
    assert httpx.get(f"{server.base_url}/healthz", headers=headers, timeout=5).status_code == 200


def test_a_slow_head_is_cut_off(server: ServerProcess) -> None:
    """A client that sends its head a byte at a time is disconnected once the head timeout
    passes, while other clients are served."""
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        _send_until_closed(sock, b"X", server=server, pause_s=0.2, limit=100)
    assert time.monotonic() - started >= HEADER_TIMEOUT_S


def test_a_silent_connection_is_closed_after_the_head_timeout(server: ServerProcess) -> None:
    """A connection that never sends a byte is answered 408 and closed."""
    with _connect(server) as sock:
        answer = _read_all(sock)
    status, _ = _status_and_problem(answer)
    assert status == 408
