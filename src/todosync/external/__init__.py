"""The external API client: the only package that speaks HTTP to the external Todo API.

Modules, each with one job:

- `client`: `ExternalClient`, the calls the sync engine makes (pull, create, update, delete);
- `schemas`: the remote entities (`RemoteList`, `RemoteItem`), what is sent (`NewList`,
  `NewItem`), `InvalidEntity` and `PullResult`;
- `decode`: tolerant, strict decoding of the API's JSON (one typed pass, per entity on failure);
- `resilience`: retries with stamina, `Retry-After`, and the per-run retry budget;
- `breaker`: the circuit breaker (purgatory, with a single half-open probe);
- `transport`: URLs, the bearer token, timeouts, and status/exception classification;
- `errors`: the error tree, drawn in its docstring.

Import the modules (`from todosync.external import client`), or the names from them.
"""

from __future__ import annotations

__all__: list[str] = []
