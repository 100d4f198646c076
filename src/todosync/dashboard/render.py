"""Rendering: the Jinja2 environment with the dashboard's filters, and responses that carry
the session cookie and the security headers of every dashboard page.

A page is rendered whole, or only its live part when htmx asks for it (`HX-Target: live`):
both come from one template, which extends `base.html` or `live.html` (the `layout` variable).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from todosync.clock import ensure_utc, utc_now
from todosync.dashboard import chart
from todosync.dashboard.session import CSRF_FIELD, CSRF_HEADER, SessionData, Signer

__all__ = ["PREFIX", "STATIC", "Renderer", "is_htmx", "wants_live_part"]

PREFIX = "/dashboard"
_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# htmx and our script come from /dashboard/static; nothing inline, nothing from elsewhere.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # pages carry tenant data: never kept by a shared cache or the back-forward cache
    "Cache-Control": "no-store",
}


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_live_part(request: Request) -> bool:
    """True for htmx's refresh of a page's live part (not for a boosted navigation)."""
    return is_htmx(request) and request.headers.get("HX-Target") == "live"


class Renderer:
    """Renders templates into responses, which set the session cookie when it changed."""

    def __init__(self, *, signer: Signer) -> None:
        self.signer = signer
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=True,  # every value is escaped, whatever the template's name
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # package files: no stat of every template on every render
        )
        self.templates = Jinja2Templates(env=environment)
        self.static_version = _static_version()
        self.templates.env.filters.update(
            when=when,
            ago=ago,
            seconds=seconds,
            duration=duration,
            jsonish=jsonish,
            changes=chart.changes_of,
        )

    def page(
        self,
        request: Request,
        template: str,
        *,
        session: SessionData,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response:
        """The page (or its live part), with the session's flash shown once and then dropped."""
        values = {
            "request": request,
            "prefix": PREFIX,
            "layout": "live.html" if wants_live_part(request) else "base.html",
            "signed_in": session.is_signed_in,
            "admin": session.admin,
            "tenant_id": session.tenant_id,
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf,
            "htmx_headers": json.dumps({CSRF_HEADER: session.csrf}),
            "flash": session.flash,
            "now": utc_now(),
            "static_version": self.static_version,
            **(context or {}),
        }
        response = self.templates.TemplateResponse(
            request, template, values, status_code=status_code
        )
        kept = session if wants_live_part(request) else session.with_flash(None)
        if kept == self.signer.load(request):
            # Unchanged: no cookie. A page refreshing itself must never write the session,
            # or its answer, arriving late, could undo a sign-out made meanwhile.
            response.headers.update(_HEADERS)
            return response
        return self.finish(response, session=kept, request=request)

    def redirect(
        self, request: Request, url: str, *, session: SessionData, flash: str | None = None
    ) -> Response:
        """A 303 to `url` (htmx follows it within the page), leaving a message for it."""
        response = RedirectResponse(url, status_code=303)
        return self.finish(response, session=session.with_flash(flash), request=request)

    def finish(self, response: Response, *, session: SessionData, request: Request) -> Response:
        self.signer.save(response, session, request=request)
        response.headers.update(_HEADERS)
        return response


def _static_version() -> str:
    """A digest of the static files, in their URLs: a new release is never served stale
    scripts from a browser's cache."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# -- filters -------------------------------------------------------------------------------------


def when(value: datetime | None) -> str:
    """An absolute UTC time, to the second."""
    if value is None:
        return "—"
    return ensure_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """A time relative to now: "12 s ago", "in 5 min"."""
    if value is None:
        return "never"
    delta_s = ((now or utc_now()) - ensure_utc(value)).total_seconds()
    if abs(delta_s) < 1:
        return "just now"
    # whole seconds: "0.42 s ago" is more precise than anyone needs
    text = f"{abs(delta_s):.0f} s" if abs(delta_s) < 120 else seconds(abs(delta_s))
    return f"{text} ago" if delta_s >= 0 else f"in {text}"


def seconds(value: float | None) -> str:
    """A duration for people: "0.42 s", "12 s", "5 min", "3 h 20 min", "2 d 4 h"."""
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.2f} s"
    if value < 120:
        return f"{value:.0f} s"
    minutes = int(value // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def duration(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return "—"
    return seconds(max(0.0, (ensure_utc(finished) - ensure_utc(started)).total_seconds()))


def jsonish(value: Any) -> str:
    """A conflict's value as JSON (strings quoted, so that "" and spaces show)."""
    return json.dumps(value, ensure_ascii=False)
