"""Who is asking: request dependencies for the session, the signed-in tenant and CSRF checks.

Every dashboard route that shows tenant data depends on `viewer` (signed in with a tenant's
token, still live), the tenants page on `admin_viewer` (an admin token's session); every route
that changes anything depends on `csrf_checked` as well, which compares the form field
`csrf_token` (or the `X-CSRF-Token` header that htmx sends) with the session's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from todosync.api import deps
from todosync.auth import service as auth_service
from todosync.dashboard.render import Renderer
from todosync.dashboard.session import CSRF_FIELD, CSRF_HEADER, SessionData, csrf_matches
from todosync.errors import AuthenticationFailed, Forbidden

__all__ = [
    "AdminViewer",
    "CheckedAnonymous",
    "CheckedViewer",
    "CsrfRejected",
    "CurrentViewer",
    "SignInRequired",
    "Viewer",
    "any_session",
    "renderer",
]


class SignInRequired(Exception):
    """The request has no live signed-in session; the route class sends it to sign in."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.message = message


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token (403)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in tenant and its session."""

    tenant_id: int
    session: SessionData


def renderer(request: Request) -> Renderer:
    found: Renderer = request.app.state.dashboard
    return found


def _session(request: Request) -> SessionData | None:
    return renderer(request).signer.load(request)


def any_session(request: Request) -> SessionData:
    """The request's session, or a new anonymous one."""
    return _session(request) or SessionData.anonymous()


async def _signed_in(request: Request, db: deps.Session) -> SessionData:
    """The live signed-in session, whose token must still be live and still speak for whom
    the session says (revoking the token ends the session)."""
    session = _session(request)
    if session is None or session.token_hash is None:
        raise SignInRequired()
    try:
        principal = await auth_service.authenticate_hash(db, token_hash=session.token_hash)
    except AuthenticationFailed:
        raise SignInRequired("The API token of this session was revoked; sign in again.") from None
    if principal.tenant_id != session.tenant_id:
        raise SignInRequired()
    if session.session_id is None or await auth_service.is_session_ended(
        db, session_id=session.session_id
    ):
        raise SignInRequired("This session was signed out; sign in again.")
    return session


async def viewer(request: Request, db: deps.Session) -> Viewer:
    """The signed-in tenant. An admin token's session gets 403 on every tenant page: it sees
    no tenant's lists, items, runs, conflicts or quarantine."""
    session = await _signed_in(request, db)
    if session.tenant_id is None:
        raise Forbidden("An admin token sees the tenants page only.")
    return Viewer(tenant_id=session.tenant_id, session=session)


async def admin_viewer(request: Request, db: deps.Session) -> SessionData:
    """The session of an admin token; a tenant's session gets 403."""
    session = await _signed_in(request, db)
    if not session.admin:
        raise Forbidden("The tenants page needs an admin token.")
    return session


async def _check(request: Request, session: SessionData) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()  # Starlette keeps it: the route reads it again for free
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_matches(session.csrf, given):
        raise CsrfRejected()


CurrentViewer = Annotated[Viewer, Depends(viewer)]
AdminViewer = Annotated[SessionData, Depends(admin_viewer)]


async def csrf_checked(request: Request, found: CurrentViewer) -> Viewer:
    """The viewer, once the request has proved it comes from a dashboard page."""
    await _check(request, found.session)
    return found


async def anonymous_checked(request: Request) -> SessionData:
    """The (possibly anonymous) session, once the request carries its CSRF token; for the
    sign-in form, so that no other site can sign a browser in (login CSRF)."""
    session = _session(request)
    if session is None:
        raise CsrfRejected()
    await _check(request, session)
    return session


CheckedViewer = Annotated[Viewer, Depends(csrf_checked)]
CheckedAnonymous = Annotated[SessionData, Depends(anonymous_checked)]
