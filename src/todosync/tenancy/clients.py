"""`ConnectionClients`: one external client per connection, for a process's life.

Each connection has its own client, so its own circuit breaker, retry budget and connection
pool: one account's outage opens that account's breaker only. A client is made on the first
run of its connection, from the connection's URL and (decrypted) token; when either has changed
since (`connections set-token`), the next run gets a new client. A replaced client is closed
with the others on `aclose()`, never under a run that may still hold it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.config import Settings
from todosync.external.breaker import CircuitState
from todosync.external.client import ExternalClient, RequestHook
from todosync.external.target import Target
from todosync.tenancy import connections

__all__ = ["ConnectionClients"]

# The breaker's half-open state still refuses all but one probe, so it counts as open.
_OPEN_STATES = frozenset({"open", "half_open"})


class ConnectionClients:
    """The external clients of one process, by connection id."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        on_request: RequestHook | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.on_request = on_request
        self._clients: dict[int, tuple[Target, ExternalClient]] = {}
        self._replaced: list[ExternalClient] = []

    async def client_for(self, connection_id: int) -> ExternalClient:
        """The connection's client (`NoSecretKey`, `UnreadableSecret` when its token cannot
        be read, `NotFoundError` for an unknown connection)."""
        async with self.sessionmaker() as session:
            target = await connections.target_of(
                session, connection_id=connection_id, settings=self.settings
            )
        held = self._clients.get(connection_id)
        if held is not None and held[0] == target:
            return held[1]
        client = ExternalClient.from_settings(
            self.settings, target=target, on_request=self.on_request
        )
        if held is not None:
            self._replaced.append(held[1])
        self._clients[connection_id] = (target, client)
        return client

    def circuit_state(self, connection_id: int) -> CircuitState:
        """The connection's breaker here ("closed" before its first run in this process)."""
        held = self._clients.get(connection_id)
        return "closed" if held is None else held[1].circuit_state

    def open_circuits(self) -> int:
        """How many connections' breakers are open (or half-open) in this process."""
        return sum(client.circuit_state in _OPEN_STATES for _, client in self._clients.values())

    async def aclose(self) -> None:
        clients = [client for _, client in self._clients.values()] + self._replaced
        self._clients, self._replaced = {}, []
        for client in clients:
            await client.aclose()
