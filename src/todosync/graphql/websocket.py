"""`graphql-transport-ws` with our token check: the token comes in `connection_init`'s payload
(`{"Authorization": "Bearer <token>"}`), is checked once, and the connection is refused
before `connection_ack`: close code 4401 without a valid token (or while the address is
throttled), 4403 for an admin token (it reads no tenant's events)."""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from todosync.errors import AuthenticationFailed, Forbidden, Throttled
from todosync.graphql.context import Context

__all__ = ["CLOSE_FORBIDDEN", "CLOSE_UNAUTHORIZED", "TransportWSHandler"]

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload: Any = message.get("payload") or {}
        context = self.context
        if isinstance(payload, dict) and not self.connection_init_received:
            refused = await _refusal(context, payload)
            if refused is not None:
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=refused[0], reason=refused[1])
                return
        await super().handle_connection_init(message)


async def _refusal(context: Context, payload: dict[str, Any]) -> tuple[int, str] | None:
    """The close code and reason for a refused connection, or None to let it in."""
    context.connection_params = payload
    try:
        async with context.services.read_sessionmaker() as session:
            principal = await context.principal(session)
    except (AuthenticationFailed, Throttled):
        return CLOSE_UNAUTHORIZED, "Unauthorized"
    if principal.tenant_id is None:
        return CLOSE_FORBIDDEN, str(Forbidden("an admin token reads no tenant's events"))
    return None
