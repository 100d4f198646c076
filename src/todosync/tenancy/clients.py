"""`ConnectionClients`: one external client per connection, for a process's life.

Each connection has its own client, so its own circuit breaker, retry budget and connection
pool: one account's outage opens that account's breaker only. A client is made on the first
run of its connection, from the connection's URL and (decrypted) token; when either has changed
since (`connections set-token`), the next run gets a new client. A client is lent for a run
(`lend`): a replaced one is closed when its last borrower gives it back, never under a run that
still holds it, so a long-lived process does not keep a pool per token change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
        self._borrowers: Counter[ExternalClient] = Counter()

    @asynccontextmanager
    async def lend(self, connection_id: int) -> AsyncIterator[ExternalClient]:
        """The connection's client, for the block (`NoSecretKey`, `UnreadableSecret` when its
        token cannot be read, `NotFoundError` for an unknown connection)."""
        client = await self._current(connection_id)
        self._borrowers[client] += 1  # no await since `_current`: a replacement cannot slip in
        try:
            yield client
        finally:
            self._borrowers[client] -= 1
            if not self._borrowers[client]:
                del self._borrowers[client]
                if not self._holds(client):
                    await client.aclose()

    async def _current(self, connection_id: int) -> ExternalClient:
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
        self._clients[connection_id] = (target, client)
        if held is not None and not self._borrowers[held[1]]:
            await held[1].aclose()  # nobody holds it: gone now, else when its borrower is done
        return client

    def _holds(self, client: ExternalClient) -> bool:
        return any(current is client for _, current in self._clients.values())

    def circuit_state(self, connection_id: int) -> CircuitState:
        """The connection's breaker here ("closed" before its first run in this process)."""
        held = self._clients.get(connection_id)
        return "closed" if held is None else held[1].circuit_state

    def open_circuits(self) -> int:
        """How many connections' breakers are open (or half-open) in this process."""
        return sum(client.circuit_state in _OPEN_STATES for _, client in self._clients.values())

    async def aclose(self) -> None:
        """Closes every client (the process is stopping: no run holds one any more)."""
        clients = {client for _, client in self._clients.values()} | set(self._borrowers)
        self._clients, self._borrowers = {}, Counter()
        for client in clients:
            await client.aclose()
