"""The context of one GraphQL operation: the process's services, the operation's session
(opened by `transaction.Transaction`), and the tenant of the bearer token, checked once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from todosync import runtime
from todosync.api import deps
from todosync.auth import service as auth_service
from todosync.auth.principal import Principal
from todosync.errors import AuthenticationFailed, Forbidden
from todosync.history.record import Actor

__all__ = ["Context", "get_context"]

_BEARER = "bearer "


class Context(BaseContext):
    """What every resolver sees as `info.context`."""

    def __init__(self, services: runtime.Services) -> None:
        super().__init__()
        self.services = services
        self.session: AsyncSession | None = None
        self.connection_params: dict[str, Any] | None = None
        self._principal: Principal | None = None
        self._actor: Actor | None = None
        self.loaders: dict[str, Any] = {}  # the operation's DataLoaders, by name
        # GraphQL resolves sibling fields concurrently, and a session takes one call at a time
        self._lock = asyncio.Lock()

    @property
    def db(self) -> AsyncSession:
        """The operation's session (queries and mutations only)."""
        if self.session is None:  # pragma: no cover - the transaction extension opens it
            raise RuntimeError("no session outside a query or mutation")
        return self.session

    @contextlib.asynccontextmanager
    async def tenant_session(self) -> AsyncIterator[tuple[AsyncSession, int]]:
        """The operation's session, for this resolver alone while inside, and the tenant."""
        async with self._lock:
            yield self.db, await self.tenant_id()

    async def tenant_id(self) -> int:
        """The token's tenant; `AuthenticationFailed` without a valid token, `Forbidden` for
        an admin token (it reads no tenant's data, as on the REST API)."""
        # a WebSocket's token was checked at `connection_init`; it has no session here
        principal = self._principal or await self.principal(self.db)
        if principal.tenant_id is None:
            raise Forbidden("an admin token reads only /api/admin; use a tenant's token for this")
        return principal.tenant_id

    async def principal(self, session: AsyncSession) -> Principal:
        """Whom the token speaks for, looked up once per operation (and throttled like REST)."""
        if self._principal is None:
            token = self._token()
            if token is None:
                raise AuthenticationFailed("send an API token as `Authorization: Bearer <token>`")
            connection = self.request
            assert isinstance(connection, HTTPConnection)
            with deps.throttled(connection, self.services.auth_throttle):  # type: ignore[arg-type]
                self._principal = await auth_service.authenticate(
                    session, token=token, cache=self.services.token_cache
                )
        return self._principal

    async def actor(self) -> Actor:
        """Who writes, for the history: `api` with the token's id, as REST records it (one
        indexed look-up, once per operation)."""
        if self._actor is None:
            token = self._token()
            found = None if token is None else await auth_service.token_id(self.db, token=token)
            self._actor = Actor("api", found)
        return self._actor

    def _token(self) -> str | None:
        """The bearer token: `connection_init`'s payload on a WebSocket, else the header."""
        if self.connection_params is not None:
            params = {str(key).lower(): value for key, value in self.connection_params.items()}
            header = params.get("authorization")
        else:
            connection = self.request
            header = None if connection is None else connection.headers.get("authorization")
        if not isinstance(header, str) or not header.lower().startswith(_BEARER):
            return None
        return header[len(_BEARER) :].strip() or None


async def get_context(connection: HTTPConnection) -> Context:
    """The router's context getter (the request or WebSocket is set on it by strawberry)."""
    return Context(runtime.services_of(connection.app))
