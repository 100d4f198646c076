"""The dashboard: web pages at `/dashboard` for the people who operate the sync.

Server-rendered HTML (Jinja2) with htmx (vendored in `static/`, no CDN): overview, runs and
their logs, actions (sync now or later, one list, dry run, a held run with mass deletes
allowed), the conflict inbox and the quarantine. Routes call the same services as the API
(`sync.service`, `store.service`, `auth.service`, `tenancy.overview`) and run no queries of
their own.

Signing in takes an API token once; a signed, HttpOnly, SameSite session cookie keeps the
tenant (see `session`), every state-changing request carries the session's CSRF token, and
each request sees only its tenant's data. An admin token's session sees the tenants page only
(every tenant's sync health, `routes.tenants`), and 403 on every tenant page. Pages update
live from the app's event bus through `/dashboard/events`, and reload their live part every
15 s in case an event was missed.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from todosync.api import problems
from todosync.config import Settings
from todosync.dashboard import render, routes
from todosync.dashboard.render import PREFIX, Renderer
from todosync.dashboard.routes import missing
from todosync.dashboard.session import Signer

__all__ = ["install"]

_log = logging.getLogger(__name__)


def install(app: FastAPI, settings: Settings) -> None:
    """Adds the dashboard's routes and static files to `app`."""
    secret = settings.session_secret
    if secret is None:
        # Sessions then end with the process and are not shared by replicas: fine for one
        # `serve` or the demo; a deployment sets TODOSYNC_SESSION_SECRET.
        _log.info("no TODOSYNC_SESSION_SECRET: dashboard sessions last until restart")
        key = secrets.token_urlsafe(32)
    else:
        key = secret.get_secret_value()
    signer = Signer(key, lifetime_s=settings.session_lifetime_seconds)
    app.state.dashboard = Renderer(signer=signer)
    for router in routes.ROUTERS:
        app.include_router(router)
    # for the `Allow` header of a 405 on a dashboard path
    app.state.route_methods = [
        *app.state.route_methods,
        *problems.route_methods(routes.ROUTERS),
    ]
    app.mount(f"{PREFIX}/static", StaticFiles(directory=render.STATIC), name="dashboard-static")
    app.include_router(missing.router)  # after the static files, which it would hide
