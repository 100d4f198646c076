"""The dashboard's session: a signed cookie, and the CSRF token it carries.

The cookie holds `{"c": csrf, "t": tenant_id, "h": sha256(token), "s": session id,
"a": signed-in-at, "f": flash}` (`"t": null` for an admin token's session), signed with
`itsdangerous` (timestamped: it expires `MAX_AGE_S` after the session last changed, which
re-signs it) under
`TODOSYNC_SESSION_SECRET`. A signed-in session also ends `lifetime_s` after its sign-in, however
often it changed (`TODOSYNC_SESSION_LIFETIME_SECONDS`), and at sign-out, server-side: its id
is recorded as ended (`auth.service.end_session`), so a copy of the cookie replayed later is
refused.

It is signed, not encrypted: the browser can read it, which is why it keeps the token's hash
and never the token (the hash lets each request check that the token is still live, so revoking
it ends the session). An anonymous visitor gets a session too, with only a CSRF token, so that
the sign-in form is protected like every other one.

The cookie is `HttpOnly` (scripts cannot read it), `SameSite=Lax` (other sites' forms and
fetches do not carry it), scoped to `/dashboard`, and `Secure` when the page came over https.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "COOKIE_NAME",
    "COOKIE_PATH",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "MAX_AGE_S",
    "SessionData",
    "Signer",
    "csrf_matches",
]

COOKIE_NAME = "todosync_session"
COOKIE_PATH = "/dashboard"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_AGE_S = 12 * 3600
_SALT = "todosync.dashboard.session"


@dataclass(frozen=True, slots=True)
class SessionData:
    """What one browser's session knows; `token_hash` is None until it signs in, and
    `tenant_id` stays None for an admin token (which sees the tenants page only)."""

    csrf: str
    tenant_id: int | None = None
    token_hash: str | None = None
    session_id: str | None = None
    signed_in_at: int | None = None  # Unix time, seconds
    flash: str | None = None

    @classmethod
    def anonymous(cls) -> SessionData:
        return cls(csrf=secrets.token_urlsafe(32))

    @property
    def is_signed_in(self) -> bool:
        return self.token_hash is not None

    @property
    def admin(self) -> bool:
        """Signed in with an admin token."""
        return self.is_signed_in and self.tenant_id is None

    def signed_in(self, *, tenant_id: int | None, token_hash: str) -> SessionData:
        """A new session (a new id and CSRF token, against session fixation) for the tenant
        (None: an admin token)."""
        return SessionData(
            csrf=secrets.token_urlsafe(32),
            tenant_id=tenant_id,
            token_hash=token_hash,
            session_id=secrets.token_urlsafe(32),
            signed_in_at=int(time.time()),
        )

    def with_flash(self, message: str | None) -> SessionData:
        return replace(self, flash=message)


class Signer:
    """Reads and writes the session cookie with one secret."""

    def __init__(self, secret: str, *, lifetime_s: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.lifetime_s = lifetime_s

    def load(self, request: Request) -> SessionData | None:
        """The request's session, or None when it has none, a forged one, an idle one or one
        signed in longer ago than the lifetime."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        try:
            data: Any = self._serializer.loads(raw, max_age=MAX_AGE_S)
        except BadSignature:  # also covers SignatureExpired
            return None
        session = _decode(data)
        signed_in_at = session.signed_in_at if session is not None else None
        if signed_in_at is not None and time.time() - signed_in_at > self.lifetime_s:
            return None
        return session

    def save(self, response: Response, data: SessionData, *, request: Request) -> None:
        payload = {
            "c": data.csrf,
            "t": data.tenant_id,
            "h": data.token_hash,
            "s": data.session_id,
            "a": data.signed_in_at,
            "f": data.flash,
        }
        response.set_cookie(
            COOKIE_NAME,
            self._serializer.dumps(payload),
            max_age=MAX_AGE_S,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


def _decode(data: Any) -> SessionData | None:
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    flash = data.get("f")
    flash = flash if isinstance(flash, str) else None
    tenant_id, token_hash, session_id, at = (data.get(key) for key in ("t", "h", "s", "a"))
    if not (
        (tenant_id is None or isinstance(tenant_id, int))
        and isinstance(token_hash, str)
        and isinstance(session_id, str)
        and isinstance(at, int)
    ):  # anonymous (or a sign-in from before sessions had ids: signed out)
        return SessionData(csrf=data["c"], flash=flash)
    return SessionData(
        csrf=data["c"],
        tenant_id=tenant_id,
        token_hash=token_hash,
        session_id=session_id,
        signed_in_at=at,
        flash=flash,
    )


def csrf_matches(expected: str, given: str | None) -> bool:
    """Compares in constant time, so that timing reveals nothing of the token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
