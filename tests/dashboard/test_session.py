"""The session cookie's lifetimes: a signed-in session ends at its absolute lifetime however
busy it is; an anonymous one only when idle."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from todosync.dashboard.session import COOKIE_NAME, SessionData, Signer

SECRET = "a-session-secret-of-at-least-32-bytes"


def _round_trip(signer: Signer, data: SessionData) -> SessionData | None:
    """Saves `data` into a response's cookie and loads it back from a request carrying it."""
    response = Response()
    https = {"type": "http", "scheme": "https", "path": "/", "headers": [], "server": ("t", 443)}
    signer.save(response, data, request=Request(https))
    cookie = response.headers["set-cookie"].split(";", 1)[0]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    headers = [(b"cookie", cookie.encode())]
    return signer.load(Request({"type": "http", "path": "/", "headers": headers}))


def test_a_session_past_its_lifetime_is_void() -> None:
    """A session signed in longer ago than the lifetime loads as none; a younger one loads."""
    signer = Signer(SECRET, lifetime_s=3600)
    fresh = SessionData.anonymous().signed_in(tenant_id=1, token_hash="h" * 64)
    assert _round_trip(signer, fresh) == fresh
    old = SessionData(
        csrf=fresh.csrf,
        tenant_id=1,
        token_hash="h" * 64,
        session_id=fresh.session_id,
        signed_in_at=int(time.time()) - 3601,
    )
    assert _round_trip(signer, old) is None


def test_an_anonymous_session_has_no_lifetime() -> None:
    """An anonymous session (only a CSRF token) is kept whatever the lifetime."""
    anonymous = SessionData.anonymous()
    assert _round_trip(Signer(SECRET, lifetime_s=1), anonymous) == anonymous


def test_signing_in_makes_a_new_session_id() -> None:
    """Each sign-in gets its own session id and CSRF token (against session fixation)."""
    first = SessionData.anonymous().signed_in(tenant_id=1, token_hash="h" * 64)
    second = first.signed_in(tenant_id=1, token_hash="h" * 64)
    assert first.session_id != second.session_id
    assert first.csrf != second.csrf
