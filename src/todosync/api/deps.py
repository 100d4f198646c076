"""Request dependencies. The session dependency owns the transaction: one session per request,
committed when the route returns (before the response is sent, so a failed commit is a 5xx and
never a false 2xx), rolled back on any error. Services and repositories only flush.

GET and HEAD requests never write (no route does, the dashboard's included), so their session
is read-only (`db.sessions`): on SQLite it does not queue for the write lock, and a write in
it fails loudly. Every other method gets a writing session (`BEGIN IMMEDIATE` on SQLite),
after passing the app's write gate (on SQLite, one writing request at a time per process)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException

from todosync import runtime
from todosync.auth import service as auth_service
from todosync.auth.principal import Principal
from todosync.auth.throttle import FailureThrottle
from todosync.errors import AuthenticationFailed, Forbidden
from todosync.history.record import Actor

__all__ = [
    "ApiActor",
    "Circuit",
    "ServicesDep",
    "Session",
    "TenantId",
    "administrator",
    "authenticated",
    "get_services",
    "require_json",
    "require_json_if_any",
    "throttled",
]

_JSON_TYPES = ("application/json",)
_READ_METHODS = frozenset({"GET", "HEAD"})
_NO_GATE = contextlib.nullcontext()


def get_services(request: Request) -> runtime.Services:
    """The process's services (the composition root, `runtime`): the one way in for routes."""
    return runtime.services_of(request.app)


ServicesDep = Annotated[runtime.Services, Depends(get_services)]


async def _session(services: ServicesDep, request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession]
    gate: AbstractAsyncContextManager[object]
    if request.method in _READ_METHODS:
        sessionmaker, gate = services.read_sessionmaker, _NO_GATE
    else:
        sessionmaker, gate = services.sessionmaker, services.write_gate
    async with gate, sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


# scope="function": the commit runs when the route returns, before the response goes out.
Session = Annotated[AsyncSession, Depends(_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `todosync tokens create`, as `Authorization: Bearer <token>`.",
)


async def _principal(
    request: Request,
    services: ServicesDep,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Whom the request's bearer token speaks for; `AuthenticationFailed` (401) without one,
    `Throttled` (429) while the client's address is throttled (see `auth.throttle`).

    Live tokens are remembered for a few seconds (`Services.token_cache`, see `auth.cache`).
    """
    if credentials is None:
        raise AuthenticationFailed("send an API token as `Authorization: Bearer <token>`")
    with throttled(request, services.auth_throttle):
        return await auth_service.authenticate(
            session, token=credentials.credentials, cache=services.token_cache
        )


async def authenticated(principal: Annotated[Principal, Depends(_principal)]) -> int:
    """The tenant id of the request's token: every tenant-scoped route depends on it. An admin
    token gets 403 here: it reads no tenant's lists, items, runs, conflicts or quarantine."""
    if principal.tenant_id is None:
        raise Forbidden("an admin token reads only /api/admin; use a tenant's token for this")
    return principal.tenant_id


async def administrator(principal: Annotated[Principal, Depends(_principal)]) -> None:
    """Lets only an admin token through (403 for a tenant's token)."""
    if not principal.admin:
        raise Forbidden("this route needs an admin token (`todosync tokens create --admin`)")


@contextlib.contextmanager
def throttled(request: Request, throttle: FailureThrottle) -> Iterator[None]:
    """Refuses the token check inside while the client is throttled, and counts a failed one."""
    address = request.client.host if request.client else "unknown"
    throttle.check(address)
    try:
        yield
    except AuthenticationFailed:
        throttle.failed(address)
        raise


TenantId = Annotated[int, Depends(authenticated)]


async def api_actor(
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Who a writing request is, for the history: `api` with its token's id. One indexed
    look-up, asked only by routes that write (the token cache keeps tenants, not ids)."""
    token = None if credentials is None else credentials.credentials
    token_id = None if token is None else await auth_service.token_id(session, token=token)
    return Actor("api", token_id)


ApiActor = Annotated[Actor, Depends(api_actor)]


def circuit_of(services: ServicesDep) -> Callable[[int], str]:
    """How to read a connection's circuit breaker in this process."""
    return services.circuit_of


Circuit = Annotated[Callable[[int], str], Depends(circuit_of)]


async def require_json(request: Request) -> None:
    """Refuses a body that is not declared as JSON (415), before it is parsed."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return
    raise HTTPException(415, detail="Send the body as JSON, with `Content-Type: application/json`.")


async def require_json_if_any(request: Request) -> None:
    """For an optional body: none at all (and no content type) is fine; one that is there, or a
    declared content type, must be JSON."""
    headers = request.headers
    declared = headers.get("content-length")
    no_body = declared == "0" or (declared is None and "transfer-encoding" not in headers)
    if no_body and "content-type" not in headers:
        return
    await require_json(request)
