"""The dashboard's routers, one module per page family."""

from __future__ import annotations

from fastapi import APIRouter

from todosync.dashboard.routes import (
    actions,
    conflicts,
    live,
    overview,
    quarantine,
    runs,
    signin,
    tenants,
    versions,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    overview.router,
    runs.router,
    versions.router,
    actions.router,
    conflicts.router,
    quarantine.router,
    live.router,
    tenants.router,
)
