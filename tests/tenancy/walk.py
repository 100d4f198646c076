"""The routes of `/openapi.json`, each with how another tenant probes it, for the isolation
walk (`test_isolation_walk.py`).

Every route is in exactly one of: `EXEMPT` (no token, no tenant data; why is said), `ADMIN`
(an admin token's only; a tenant's token gets 403), `STREAMS` (checked through its events),
or `probes(...)`: a route that takes one of tenant A's ids answers tenant B 404, a listing
answers 200 with none of A's rows, and B's own actions work on B's rows. A route added to
the API without a place here fails the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

__all__ = ["ADMIN", "EXEMPT", "STREAMS", "Probe", "Theirs", "probes", "routes_of"]

Route = tuple[str, str]  # (method, path template), as in the OpenAPI document

EXEMPT: dict[Route, str] = {
    ("GET", "/healthz"): "no token and no tenant data: says only that the process is alive",
    ("GET", "/readyz"): "no token and no tenant data: says only whether the database answers",
    ("GET", "/metrics"): "no token, aggregate numbers only (the walk checks it names nothing)",
}
ADMIN: frozenset[Route] = frozenset({("GET", "/api/admin/connections")})
STREAMS: frozenset[Route] = frozenset({("GET", "/api/events")})


@dataclass(frozen=True, slots=True)
class Theirs:
    """Tenant A's rows, which tenant B must never reach."""

    list_ids: frozenset[int]
    item_ids: frozenset[int]
    run_ids: frozenset[int]
    conflict_ids: frozenset[int]
    quarantine_ids: frozenset[int]

    @property
    def list_id(self) -> int:
        return min(self.list_ids)

    @property
    def item_id(self) -> int:
        return min(self.item_ids)


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of tenant B, and what it must answer."""

    route: Route
    path: str
    body: Any = None
    status: int = 404
    # a listing: the ids it shows, and A's ids of that kind (none may show)
    shown: Callable[[Any], set[int]] | None = None
    forbidden_ids: Set[int] = field(default_factory=frozenset)


def _ids(body: Any) -> set[int]:
    return {row["id"] for row in body["data"]}


def _listing(route: Route, path: str, forbidden_ids: Set[int]) -> Probe:
    return Probe(route, path, status=200, shown=_ids, forbidden_ids=forbidden_ids)


def probes(theirs: Theirs, *, own_list_id: int) -> list[Probe]:
    """B's requests: A's ids wherever a route takes one, and B's own list where it is B's."""
    a_list, a_item, own = theirs.list_id, theirs.item_id, own_list_id
    just_now = quote((datetime.now(UTC) - timedelta(seconds=1)).isoformat())
    run, conflict, quarantined = (
        min(ids) for ids in (theirs.run_ids, theirs.conflict_ids, theirs.quarantine_ids)
    )
    lists, items = "/api/todolists/{list_id}", "/api/todolists/{list_id}/items"
    item = "/api/todolists/{list_id}/items/{item_id}"
    conflicts = ("GET", "/api/sync/conflicts")
    return [
        _listing(("GET", "/api/todolists"), "/api/todolists", theirs.list_ids),
        Probe(("POST", "/api/todolists"), "/api/todolists", {"name": "B's new"}, status=201),
        *(
            Probe((method, lists), f"/api/todolists/{a_list}", body)
            for method, body in (("GET", None), ("PATCH", {"name": "B was here"}), ("DELETE", None))
        ),
        Probe(("GET", items), f"/api/todolists/{a_list}/items"),
        # the history's reads: as of a moment when A's rows existed, and their versions
        _listing(("GET", "/api/todolists"), f"/api/todolists?as_of={just_now}", theirs.list_ids),
        Probe(("GET", lists), f"/api/todolists/{a_list}?as_of={just_now}"),
        Probe(("GET", items), f"/api/todolists/{a_list}/items?as_of={just_now}"),
        Probe(("GET", f"{lists}/versions"), f"/api/todolists/{a_list}/versions"),
        *(
            Probe(
                (("GET", f"{item}/versions")), f"/api/todolists/{list_id}/items/{a_item}/versions"
            )
            for list_id in (a_list, own)
        ),
        _listing(("GET", items), f"/api/todolists/{own}/items", theirs.item_ids),
        Probe(("POST", items), f"/api/todolists/{a_list}/items", {"description": "B was here"}),
        *(
            Probe((method, item), f"/api/todolists/{list_id}/items/{a_item}", body)
            for method, body in (("GET", None), ("PATCH", {"completed": True}), ("DELETE", None))
            for list_id in (a_list, own)  # A's item under A's list, and under B's own
        ),
        Probe(("POST", "/api/sync"), "/api/sync", {"list_id": a_list}),
        _listing(("GET", "/api/sync/runs"), "/api/sync/runs", theirs.run_ids),
        Probe(("GET", "/api/sync/runs/{run_id}"), f"/api/sync/runs/{run}"),
        Probe(("GET", "/api/sync/status"), "/api/sync/status", status=200),
        *(
            _listing(conflicts, f"/api/sync/conflicts?status={status}", theirs.conflict_ids)
            for status in ("open", "resolved", "dismissed", "obsolete")
        ),
        Probe(
            ("POST", "/api/sync/conflicts/{conflict_id}/resolve"),
            f"/api/sync/conflicts/{conflict}/resolve",
            {"choice": "local"},
        ),
        Probe(
            ("POST", "/api/sync/conflicts/{conflict_id}/dismiss"),
            f"/api/sync/conflicts/{conflict}/dismiss",
        ),
        *(
            Probe(("GET", "/api/sync/history"), f"/api/sync/history?entity={entity}")
            for entity in (f"list:{a_list}", f"item:{a_item}")
        ),
        _listing(("GET", "/api/sync/quarantine"), "/api/sync/quarantine", theirs.quarantine_ids),
        Probe(
            ("POST", "/api/sync/quarantine/{quarantine_id}/replay"),
            f"/api/sync/quarantine/{quarantined}/replay",
        ),
    ]


def routes_of(document: dict[str, Any]) -> set[Route]:
    """Every (method, path) of an OpenAPI document."""
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "patch", "delete", "head", "options"}
    }
