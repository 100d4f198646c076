"""`TODOSYNC_FORWARDED_ALLOW_IPS`: behind a trusted https proxy the dashboard's cookie is
`Secure`; a proxy header from an address that is not trusted changes nothing."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.cli.serving import ServerProcess

FROM_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}


@pytest.mark.parametrize(("trusted", "secure"), [("127.0.0.1", True), ("192.0.2.1", False)])
def test_the_session_cookie_is_secure_only_behind_a_trusted_proxy(
    database_url: str, tmp_path: Path, trusted: str, secure: bool
) -> None:
    """A sign-in page fetched through a proxy that says https sets a `Secure` cookie exactly
    when the proxy's address is in TODOSYNC_FORWARDED_ALLOW_IPS."""
    server = ServerProcess(
        ["serve"],
        database_url=database_url,
        cwd=tmp_path,
        TODOSYNC_FORWARDED_ALLOW_IPS=trusted,
        TODOSYNC_SYNC_INTERVAL_SECONDS="0",
    )
    try:
        server.wait_healthy()
        page = httpx.get(f"{server.base_url}/dashboard/sign-in", headers=FROM_PROXY, timeout=10)
        server.send(signal.SIGINT)
        server.wait_exit()
    finally:
        server.close()
    assert page.status_code == 200
    cookie = page.headers["set-cookie"].lower()
    assert ("; secure" in cookie) is secure
