"""The dashboard's session: a signed cookie, and the CSRF token it carries.

The cookie holds `{"c": csrf, "t": tenant_id, "h": sha256(token), "f": flash}`, signed with
`itsdangerous` (timestamped, so it expires) under `TODOSYNC_SESSION_SECRET`. It is signed, not
encrypted: the browser can read it, which is why it keeps the token's hash and never the token
(the hash lets each request check that the token is still live, so revoking it ends the
session). An anonymous visitor gets a session too, with only a CSRF token, so that the sign-in
form is protected like every other one.

The cookie is `HttpOnly` (scripts cannot read it), `SameSite=Lax` (other sites' forms and
fetches do not carry it), scoped to `/dashboard`, and `Secure` when the page came over https.
"""

from __future__ import annotations

import hmac
import secrets
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
    """What one browser's session knows; `tenant_id` is None until it signs in."""

    csrf: str
    tenant_id: int | None = None
    token_hash: str | None = None
    flash: str | None = None

    @classmethod
    def anonymous(cls) -> SessionData:
        return cls(csrf=secrets.token_urlsafe(32))

    def signed_in(self, *, tenant_id: int, token_hash: str) -> SessionData:
        """A new session (and a new CSRF token, against session fixation) for the tenant."""
        return SessionData(
            csrf=secrets.token_urlsafe(32), tenant_id=tenant_id, token_hash=token_hash
        )

    def with_flash(self, message: str | None) -> SessionData:
        return replace(self, flash=message)


class Signer:
    """Reads and writes the session cookie with one secret."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def load(self, request: Request) -> SessionData | None:
        """The request's session, or None when it has none, a forged one or an expired one."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        try:
            data: Any = self._serializer.loads(raw, max_age=MAX_AGE_S)
        except BadSignature:  # also covers SignatureExpired
            return None
        return _decode(data)

    def save(self, response: Response, data: SessionData, *, request: Request) -> None:
        payload = {"c": data.csrf, "t": data.tenant_id, "h": data.token_hash, "f": data.flash}
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
    tenant_id, token_hash, flash = data.get("t"), data.get("h"), data.get("f")
    if not (isinstance(tenant_id, int) and isinstance(token_hash, str)):
        tenant_id, token_hash = None, None
    return SessionData(
        csrf=data["c"],
        tenant_id=tenant_id,
        token_hash=token_hash,
        flash=flash if isinstance(flash, str) else None,
    )


def csrf_matches(expected: str, given: str | None) -> bool:
    """Compares in constant time, so that timing reveals nothing of the token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
