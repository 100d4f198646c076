"""Signing in with an API token, and out again."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from todosync import runtime
from todosync.api import deps
from todosync.auth import service as auth_service
from todosync.auth import tokens
from todosync.dashboard import access
from todosync.dashboard.errors import DashboardRoute
from todosync.dashboard.render import PREFIX
from todosync.dashboard.session import SessionData
from todosync.errors import AuthenticationFailed, Throttled

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    session = access.any_session(request)
    return access.renderer(request).page(request, "sign_in.html", session=session)


@router.post("/sign-in")
async def sign_in(request: Request, db: deps.Session, session: access.CheckedAnonymous) -> Response:
    """Checks the token once; the session then keeps the tenant (none for an admin token)
    and the token's hash."""
    render = access.renderer(request)
    token = (await request.form()).get("token")
    token = token.strip() if isinstance(token, str) else ""
    try:
        if not token:
            raise AuthenticationFailed("the API token is unknown or revoked")
        with deps.throttled(request, runtime.services_of(request.app).auth_throttle):
            principal = await auth_service.authenticate(db, token=token)
    except AuthenticationFailed:
        # the same page with a message; never the token itself
        context = {"error": "The API token is unknown or revoked."}
        return render.page(
            request, "sign_in.html", session=session, context=context, status_code=401
        )
    except Throttled as exc:
        context = {"error": str(exc)}
        page = render.page(
            request, "sign_in.html", session=session, context=context, status_code=429
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    signed_in = session.signed_in(
        tenant_id=principal.tenant_id, token_hash=tokens.hash_token(token)
    )
    # an admin token sees the tenants page only
    home = f"{PREFIX}/tenants" if principal.admin else PREFIX
    return render.redirect(request, home, session=signed_in, flash="Signed in.")


@router.post("/sign-out")
async def sign_out(
    request: Request, db: deps.Session, session: access.CheckedAnonymous
) -> Response:
    """Ends the session server-side (a replayed copy of its cookie is refused) and replaces it
    with a fresh anonymous one."""
    render = access.renderer(request)
    if session.session_id is not None:
        await auth_service.end_session(
            db, session_id=session.session_id, lifetime_s=render.signer.lifetime_s
        )
    fresh = SessionData.anonymous()
    return render.redirect(request, f"{PREFIX}/sign-in", session=fresh, flash="Signed out.")
