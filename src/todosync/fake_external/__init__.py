"""The bundled fake external API: a real HTTP server that implements `external-api.yaml`
faithfully and injects faults on demand, for tests, benchmarks and the demo.

Run it with `todosync fake-external` (see `cli.py`), or in-process with
`server.start_in_thread(config.ServerConfig(port=0))`, which returns a `RunningServer` with
`.url` and `.stop()`.

Public API (as in the spec): `GET|POST /todolists`, `PATCH|DELETE /todolists/{id}`,
`PATCH|DELETE /todolists/{id}/todoitems/{itemId}`, and, when `item_create` is on,
`POST /todolists/{id}/todoitems`. Ids are random hex strings; timestamps RFC 3339 UTC with
milliseconds; every response carries `Date`. With a token configured, every public request
needs `Authorization: Bearer <token>` (401 otherwise).

Control API (`control.py` lists every route), never logged, faulted or authenticated:
`GET|DELETE /__control/requests`, `GET|PUT|DELETE /__control/faults`, `POST /__control/release`,
`GET|PUT /__control/config`, `GET|PUT /__control/state`,
`POST /__control/todolists/{id}/todoitems`, `POST /__control/reset`.

Faults (`faults.py`): rules of kind `latency`, `error`, `rate_limit`, `timeout`, `drop`,
`applied_then_500`, `applied_then_hang`, `applied_then_drop`, `applied_then_pause`, each
targeting methods and a path glob, with a `rate` and/or a `count`, reproducible with a `seed`.
Example: `PUT /__control/faults` with
`{"seed": 7, "rules": [{"kind": "applied_then_500", "methods": ["POST"], "count": 1}]}`.

A public request carrying the header `X-Fake-Untracked` is neither logged nor faulted (test
set-up through the public API).
"""

from __future__ import annotations

__all__: list[str] = []
