"""Prometheus metrics of one app: per-process series plus a database snapshot per scrape.

Two kinds of series, so that every replica reports the same shared state:

- **from the database, at scrape time** (`render`): run and entity counters summed from the
  finished runs, the number of connections whose last run ended in each status, sync lag,
  pending local changes, open conflicts and quarantined entities, aggregated over all
  connections; and the same figures per connection, labelled with the connection's id, for
  at most `TODOSYNC_METRICS_MAX_CONNECTIONS` connections (the oldest), so that the number of
  series stays bounded by configuration however many tenants sign up. `/metrics` needs no
  token, so a label is a connection id, never a tenant's name.
- **per process**, kept in the app's own `CollectorRegistry` (no module-global state): external
  requests and their durations (the external clients' `on_request` hook), run durations (the
  process that ran them) and how many connections' circuit breakers are open in this process.

Counters read from the database shrink when run retention deletes old runs; each `Metrics`
keeps them monotonic by carrying such drops forward, so `rate()` sees no reset (a scrape that
spans a purge under-counts the runs that finished meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import prometheus_client
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.sync.books import queries, run_status, totals

__all__ = ["CONTENT_TYPE", "Metrics", "Snapshot", "read_snapshot"]

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
_SIDE_ACTIONS = ("created", "updated", "deleted")
_OTHER_ACTIONS = ("conflicts", "skipped", "quarantined", "failed")


@dataclass(frozen=True, slots=True)
class ConnectionFigures:
    """One connection's figures in a scrape."""

    last_status: str | None
    lag_s: float | None
    pending_changes: int
    conflicts_open: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Shared state read from the database for one scrape, summed over all connections, and
    per connection for the labelled ones."""

    runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, trigger) -> n
    entities: dict[tuple[str, str], int] = field(default_factory=dict)  # (action, side) -> n
    last_status: dict[str, int] = field(default_factory=dict)  # status -> connections
    lag_s: float = 0.0
    pending_changes: int = 0
    conflicts_open: int = 0
    quarantined: int = 0
    connections: int = 0
    per_connection: dict[int, ConnectionFigures] = field(default_factory=dict)


async def read_snapshot(
    session: AsyncSession, *, now: datetime | None = None, labelled: int = 0
) -> Snapshot:
    """Reads the shared state through the sync status queries, for every connection at once
    (a scrape costs the same statements for one tenant or hundreds); keeps the figures of the
    `labelled` oldest connections apart."""
    now = now or utc_now()
    runs, entities = await totals.run_totals(session), await totals.entity_totals(session)
    every = await queries.every_connection(session)
    last_runs = await totals.last_runs(session)
    pending = await queries.pending_changes_by_connection(session, connection_ids=None)
    conflicts = await queries.open_conflicts_by_connection(session, connection_ids=None)
    quarantined = await queries.quarantined_by_connection(session, connection_ids=None)
    figures = {}
    for connection_id in every:
        last = last_runs.get(connection_id)
        figures[connection_id] = ConnectionFigures(
            last_status=None if last is None else last.status,
            lag_s=None if last is None else max(0.0, (now - last.agreed_since).total_seconds()),
            pending_changes=pending.get(connection_id, 0),
            conflicts_open=conflicts.get(connection_id, 0),
            quarantined=quarantined.get(connection_id, 0),
        )
    last_status: dict[str, int] = {}
    for found in figures.values():
        if found.last_status is not None:
            last_status[found.last_status] = last_status.get(found.last_status, 0) + 1
    return Snapshot(
        runs=runs,
        entities=entities,
        last_status=last_status,
        lag_s=max([0.0, *(f.lag_s for f in figures.values() if f.lag_s is not None)]),
        pending_changes=sum(f.pending_changes for f in figures.values()),
        conflicts_open=sum(f.conflicts_open for f in figures.values()),
        quarantined=sum(f.quarantined for f in figures.values()),
        connections=len(every),
        per_connection={c: figures[c] for c in every[:labelled]},
    )


class _Monotonic:
    """Keeps database-derived counters from going down when old rows are deleted."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, ...], int] = {}
        self._carried: dict[tuple[str, ...], int] = {}

    def __call__(self, key: tuple[str, ...], value: int) -> int:
        previous = self._last.get(key, value)
        if value < previous:
            self._carried[key] = self._carried.get(key, 0) + previous - value
        self._last[key] = value
        return value + self._carried.get(key, 0)

    def all(self, current: dict[tuple[str, str], int]) -> list[tuple[tuple[str, str], int]]:
        """Current values, plus 0 for label sets seen before whose rows are all gone now."""
        keys = set(current) | {(k[0], k[1]) for k in self._last}
        return [(key, self(key, current.get(key, 0))) for key in sorted(keys)]


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot, *, runs: _Monotonic, entities: _Monotonic) -> None:
        self._snapshot = snapshot
        self._runs = runs
        self._entities = entities

    def collect(self) -> Iterator[prometheus_client.Metric]:
        s = self._snapshot
        runs = CounterMetricFamily(
            "todosync_sync_runs",
            "Finished sync runs (dry runs excluded).",
            labels=["status", "trigger"],
        )
        for (status, trigger), n in self._runs.all(s.runs):
            runs.add_metric([status, trigger], n)
        yield runs
        entities = CounterMetricFamily(
            "todosync_sync_entities", "Entities handled by sync runs.", labels=["action", "side"]
        )
        for (action, side), n in self._entities.all(s.entities):
            entities.add_metric([action, side], n)
        yield entities
        last = GaugeMetricFamily(
            "todosync_sync_last_status",
            "Connections whose last finished run ended in each status.",
            labels=["status"],
        )
        for status in sorted(run_status.FINISHED):
            last.add_metric([status], s.last_status.get(status, 0))
        yield last
        yield _gauge(
            "todosync_sync_lag_seconds", "Longest time since a connection last synced.", s.lag_s
        )
        yield _gauge(
            "todosync_pending_changes", "Local changes waiting to be pushed.", s.pending_changes
        )
        yield _gauge("todosync_conflicts_open", "Conflicts open for review.", s.conflicts_open)
        yield _gauge("todosync_quarantined", "Entities in quarantine.", s.quarantined)
        yield _gauge("todosync_connections", "Connections to external APIs.", s.connections)
        yield from _per_connection(s.per_connection)


def _per_connection(figures: dict[int, ConnectionFigures]) -> Iterator[prometheus_client.Metric]:
    """The labelled connections' own series (label `connection`: the connection's id)."""
    families = {
        name: GaugeMetricFamily(name, documentation, labels=["connection"])
        for name, documentation in (
            ("todosync_connection_lag_seconds", "Time since the connection last synced."),
            ("todosync_connection_pending_changes", "The connection's local changes to push."),
            ("todosync_connection_conflicts_open", "The connection's conflicts open for review."),
            ("todosync_connection_quarantined", "The connection's entities in quarantine."),
        )
    }
    last = GaugeMetricFamily(
        "todosync_connection_last_status",
        "1 for the status the connection's last finished run ended in.",
        labels=["connection", "status"],
    )
    for connection_id, found in sorted(figures.items()):
        label = str(connection_id)
        if found.lag_s is not None:
            families["todosync_connection_lag_seconds"].add_metric([label], found.lag_s)
        families["todosync_connection_pending_changes"].add_metric([label], found.pending_changes)
        families["todosync_connection_conflicts_open"].add_metric([label], found.conflicts_open)
        families["todosync_connection_quarantined"].add_metric([label], found.quarantined)
        for status in sorted(run_status.FINISHED):
            last.add_metric([label, status], 1.0 if found.last_status == status else 0.0)
    yield from families.values()
    yield last


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """The metrics of one app (or worker): its own registry, never the global one."""

    def __init__(self, *, labelled_connections: int = 0) -> None:
        # how many connections get series of their own (`TODOSYNC_METRICS_MAX_CONNECTIONS`)
        self.labelled_connections = labelled_connections
        self.registry = CollectorRegistry()
        self._runs = _Monotonic()
        self._entities = _Monotonic()
        self.external_requests = prometheus_client.Counter(
            "todosync_external_requests",
            "Requests sent to the external API (each attempt); status 'error' when none came.",
            ["method", "status"],
            registry=self.registry,
        )
        self.external_request_duration = prometheus_client.Histogram(
            "todosync_external_request_duration_seconds",
            "Duration of requests to the external API.",
            ["method"],
            registry=self.registry,
        )
        self.sync_duration = prometheus_client.Histogram(
            "todosync_sync_duration_seconds",
            "Duration of the sync runs this process carried out.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.circuit_open = prometheus_client.Gauge(
            "todosync_circuit_open",
            "Connections whose circuit breaker to their external API is open or half-open in "
            "this process.",
            registry=self.registry,
        )

    def observe_request(self, method: str, status: int | None, duration_s: float) -> None:
        """The external client's `on_request` hook."""
        self.external_requests.labels(method, "error" if status is None else str(status)).inc()
        self.external_request_duration.labels(method).observe(duration_s)

    def observe_run(self, *, duration_s: float) -> None:
        self.sync_duration.observe(duration_s)

    def track_circuits(self, open_circuits: Callable[[], int]) -> None:
        """Reads how many breakers are open (`open_circuits()`) at every scrape."""
        self.circuit_open.set_function(lambda: float(open_circuits()))

    async def render(self, sessionmaker: async_sessionmaker[AsyncSession]) -> bytes:
        """The Prometheus text of this process's series and the database's current state."""
        async with sessionmaker() as session:
            snapshot = await read_snapshot(session, labelled=self.labelled_connections)
        scrape = CollectorRegistry(auto_describe=False)
        scrape.register(self.registry)
        scrape.register(_SnapshotCollector(snapshot, runs=self._runs, entities=self._entities))
        return prometheus_client.generate_latest(scrape)
