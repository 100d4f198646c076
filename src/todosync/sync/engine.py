"""One sync run for one connection: lease, pull, plan, apply, record.

See the package docstring for the algorithm and its guarantees. The engine owns the run's
transactions: reads in one short transaction, then each batch or remote action in its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import Clock, utc_now
from todosync.config import Settings
from todosync.db import engine as db_engine
from todosync.errors import NotFoundError, TodosyncError
from todosync.external import errors as ext_errors
from todosync.external.client import ExternalClient
from todosync.external.schemas import PullResult, RemoteList
from todosync.logging import best_effort
from todosync.store import bulk
from todosync.sync.apply.executor import Executor, Progress
from todosync.sync.books import adoption, lease, ledger, quarantine, runs
from todosync.sync.books.report import RunReport, Tally, entity_name
from todosync.sync.books.run_status import RunStatus
from todosync.sync.core import actions as act
from todosync.sync.core import admit, settle
from todosync.sync.core import plan as planner
from todosync.sync.core.snapshot import LedgerRow, LocalRow

if TYPE_CHECKING:
    from todosync.sync.observer import RunObserver

__all__ = ["RunInProgress", "RunRequest", "SyncEngine"]

log = logging.getLogger(__name__)
_SKEW_WARNING_S = 60.0
# The `Date` header has one-second resolution, so a measured skew smaller than that is noise;
# correcting by it would reorder writes made milliseconds apart on clocks that agree.
_SKEW_RESOLUTION_S = 1.0
# A run that created this many entities refreshes the database's statistics (PostgreSQL).
_ANALYZE_AFTER_CREATED = 5_000


def effective_skew(measured_s: float) -> float:
    """The skew applied to remote timestamps: the measurement, or 0 within its resolution."""
    return 0.0 if abs(measured_s) <= _SKEW_RESOLUTION_S else measured_s


class RunInProgress(TodosyncError):
    """Another run of the same connection holds the lease."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    trigger: str = "cli"
    list_id: int | None = None
    dry_run: bool = False
    allow_mass_delete: bool = False
    # an external account that was reset: push again what is missing remotely, delete nothing
    restore_remote: bool = False
    run_id: int | None = None  # an already recorded (queued) run to carry out


@dataclass(slots=True)
class _Outcome:
    status: RunStatus
    reason: str | None = None
    plan: list[dict[str, object]] | None = None
    skew_s: float | None = None


@dataclass(frozen=True)
class _LocalReads:
    book: quarantine.Book
    moved: list[LocalRow]
    list_rows: list[LedgerRow]
    pull_digest: str | None  # see `settle`: the pull that all recorded list digests agree with


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOptions:
    """The settings a run uses, and nothing else of `Settings`."""

    plan: planner.PlanOptions = field(default_factory=planner.PlanOptions)
    lease_ttl_s: float = 15.0
    max_entity_attempts: int = 5
    entity_retry_s: float = 60.0
    push_concurrency: int = 8
    tombstone_retention_s: float = 7 * 24 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(
            plan=planner.PlanOptions(
                delete_policy=settings.delete_policy,
                new_item_strategy=settings.new_item_strategy,
                item_create=settings.use_item_create_extension,
                mass_delete_min=settings.mass_delete_min,
                mass_delete_percent=settings.mass_delete_percent,
            ),
            lease_ttl_s=settings.lease_ttl_seconds,
            max_entity_attempts=settings.max_entity_attempts,
            entity_retry_s=settings.entity_retry_seconds,
            push_concurrency=settings.push_concurrency,
            tombstone_retention_s=settings.tombstone_retention_seconds,
        )


class SyncEngine:
    """Runs syncs of one connection against one external API client, with `options` and the
    engine's notion of now from `clock`."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: ExternalClient,
        options: EngineOptions,
        clock: Clock = utc_now,
        connection_id: int = 1,
        tenant_id: int = 1,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        observer: RunObserver | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        # the run's reads (the plan's inputs) never wait for the SQLite write lock
        self.read_sessionmaker = db_engine.read_only_twin(sessionmaker)
        self.observer = observer  # live events, metrics, alerts (todosync.observe)
        self.should_stop = should_stop  # a graceful shutdown: see Executor.should_stop
        self._lease_lost = False  # set by the heartbeat when another holder took over
        self.client = client
        self.options = options
        self.clock = clock
        self.connection_id = connection_id
        self.tenant_id = tenant_id
        self.progress = progress

    async def run(self, request: RunRequest) -> RunReport:
        """Carries out one run and records it; raises RunInProgress if one is running, and
        NotFoundError for a `list_id` that the tenant does not have."""
        if request.list_id is not None:
            await self._check_list(request.list_id)
        await self.reap_abandoned()
        holder = lease.Holder()
        if not request.dry_run:
            busy = await lease.acquire(
                self.sessionmaker,
                connection_id=self.connection_id,
                holder=holder,
                ttl_s=self.options.lease_ttl_s,
            )
            if busy is not None:
                raise RunInProgress("a sync of this connection is already running")
        try:
            return await self._run_recorded(request, holder)
        finally:
            if not request.dry_run:
                await lease.release(
                    self.sessionmaker, connection_id=self.connection_id, holder=holder
                )

    async def reap_abandoned(self) -> list[int]:
        """Marks this connection's runs that lost their holder `failed` (abandoned)."""
        async with self.sessionmaker.begin() as session:
            return await runs.reap_abandoned(
                session,
                now=self.clock(),
                ttl_s=self.options.lease_ttl_s,
                connection_id=self.connection_id,
            )

    async def _check_list(self, list_id: int) -> None:
        async with self.read_sessionmaker() as session:
            if await bulk.get_list(session, list_id, tenant_id=self.tenant_id) is None:
                raise NotFoundError(f"list {list_id} not found")

    async def _run_recorded(self, request: RunRequest, holder: lease.Holder) -> RunReport:
        started = time.monotonic()
        run_id = await self._start(request, holder)
        # every log line of the run carries its id (structlog's context reaches stdlib records)
        with structlog.contextvars.bound_contextvars(run_id=run_id):
            if self.observer is not None:
                await self.observer.run_started(
                    run_id=run_id, trigger=request.trigger, tenant_id=self.tenant_id
                )
            report = await self._carry_out(request, holder, run_id, started)
            if self.observer is not None:
                await self.observer.run_finished(
                    report=report, connection_id=self.connection_id, tenant_id=self.tenant_id
                )
            return report

    async def _carry_out(
        self, request: RunRequest, holder: lease.Holder, run_id: int, started: float
    ) -> RunReport:
        tally = Tally(self.connection_id, run_id, self.clock)
        calls_before = self.client.request_count
        self._lease_lost = False
        beat = asyncio.create_task(self._heartbeat(run_id, holder, request.dry_run))
        try:
            outcome = await self._sync(request, tally)
        except Exception as exc:
            log.exception("sync run %s failed", run_id)
            outcome = _Outcome(RunStatus.FAILED, reason=f"internal error ({type(exc).__name__})")
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        report = RunReport(
            run_id=run_id,
            status=outcome.status,
            dry_run=request.dry_run,
            counts=tally.counts,
            api_calls=self.client.request_count - calls_before,
            clock_skew_s=outcome.skew_s,
            duration_s=time.monotonic() - started,
            errors=tally.errors,
            reason=outcome.reason,
            plan=outcome.plan,
        )
        await self._finish(report, tally)
        return report

    async def _start(self, request: RunRequest, holder: lease.Holder) -> int:
        async with self.sessionmaker.begin() as session:
            run_id = await self._record_start(session, request)
            if not request.dry_run:
                # in the run's own transaction: a `running` run is always named by its lease,
                # which is how the reaper tells a live run from an abandoned one
                await lease.attach_run(
                    session, connection_id=self.connection_id, holder=holder, run_id=run_id
                )
            return run_id

    async def _record_start(self, session: AsyncSession, request: RunRequest) -> int:
        if request.run_id is not None:
            await runs.mark_running(session, request.run_id)
            return request.run_id
        run = await runs.create_run(
            session,
            connection_id=self.connection_id,
            trigger=request.trigger,
            status=RunStatus.RUNNING,
            dry_run=request.dry_run,
            allow_mass_delete=request.allow_mass_delete,
            restore_remote=request.restore_remote,
            list_id=request.list_id,
        )
        return run.id

    async def _heartbeat(self, run_id: int, holder: lease.Holder, dry_run: bool) -> None:
        interval = max(0.5, self.options.lease_ttl_s / 3)
        while True:
            await asyncio.sleep(interval)
            # a missed beat is retried on the next tick
            with best_effort(log, f"the lease heartbeat of run {run_id}"):
                if not dry_run and not await lease.heartbeat(
                    self.sessionmaker, connection_id=self.connection_id, holder=holder
                ):
                    # stalled past the TTL and taken over: another run may be going on now,
                    # so this one starts no further action (see `_stop_now`)
                    log.error("sync run %s lost its lease; stopping", run_id)
                    self._lease_lost = True
                async with self.sessionmaker.begin() as session:
                    await runs.touch_run(session, run_id)

    async def _sync(self, request: RunRequest, tally: Tally) -> _Outcome:
        self.client.reset_run_budget()
        # The local reads need nothing from the pull, so they run while it is in flight (the
        # database works while this process waits for the response), in a transaction of
        # their own that ends before any retry's backoff. Reading the local side a moment
        # earlier changes nothing: what moves after it has a new `version` for the next run,
        # as what moved after the reads always had.
        reading = asyncio.create_task(self._read_local(request.list_id))
        try:
            pull = await self._pull()
        except BaseException:
            reading.cancel()
            await asyncio.wait([reading])
            raise
        reads = await reading
        if isinstance(pull, _Outcome):
            return pull
        pull = admit.admit_pull(pull)
        skew = pull.clock_skew_s
        if abs(skew) > _SKEW_WARNING_S:
            log.warning("external API clock is off by %.1f s", skew)
        self._note_invalid(pull, reads.book, tally)
        data, book = await self._load(pull, reads, request.list_id)
        book.note_invalid(
            pull.invalid, pulled=pull.lists, complete=pull.complete, ledger=data.ledger
        )
        options = dataclasses.replace(
            self.options.plan,
            drop_unreadable=request.allow_mass_delete,
            restore_remote=request.restore_remote,
        )
        plan = planner.build(data, options)
        actions, waiting = book.split(plan.actions, now=self.clock())
        _note_waiting(waiting, tally)
        outcome = _Outcome(RunStatus.OK, skew_s=skew)
        if request.dry_run:
            outcome.plan = [act.describe(a) for a in actions]
            for action in actions:
                tally.count_planned(action)
            outcome.reason = plan.held_reason
            return self._status(outcome, tally, held=plan.held_reason is not None)
        held = plan.held_reason is not None and not request.allow_mass_delete
        if held:
            outcome.reason = plan.held_reason
            destructive = set(map(id, plan.destructive))
            actions = [a for a in actions if id(a) not in destructive]
        tally.counts["skipped"] += plan.unchanged
        list_rows = reads.list_rows
        forget = settle.stale(list_rows, quiet=plan.quiet_lists)
        known = await self._save_digests(
            forget,
            pull_digest=None if forget or plan.actions else reads.pull_digest,
            known=reads.pull_digest,
        )
        executor = self._executor(tally, skew_s=data.skew_s)
        try:
            await executor.apply(actions)
        except ext_errors.AuthenticationError as exc:
            return _Outcome(RunStatus.FAILED, reason=str(exc), skew_s=skew)
        if not executor.skipped and pull.complete:
            unsure = settle.unsure_lists(pull.invalid, book.remote_lists())
            digests = settle.to_record(
                list_rows,
                remote_lists=data.remote_lists,
                quiet=plan.quiet_lists,
                unsure=unsure,
                settled=data.settled,
            )
            whole = request.list_id is None
            record = settle.may_record_pull(list_rows, whole=whole, unsure=unsure)
            await self._save_digests(
                digests, pull_digest=(pull.body_digest or None) if record else None, known=known
            )
        await self._refresh_statistics(tally)
        if executor.skipped:
            outcome.status = RunStatus.PARTIAL
            outcome.reason = (
                f"stopped by shutdown: {executor.skipped} of {len(actions)} actions "
                "left for the next run"
            )
            if self._lease_lost:
                outcome.reason = outcome.reason.replace("shutdown", "a lost lease")
        await self._settle_quarantine(
            book,
            plan=plan,
            executed=[] if executor.skipped else actions,
            tally=tally,
            full_scope=request.list_id is None and pull.complete,
        )
        if request.list_id is None and pull.complete:
            await self._purge_tombstones()
        return self._status(outcome, tally, held=held)

    def _status(self, outcome: _Outcome, tally: Tally, *, held: bool) -> _Outcome:
        if tally.unreachable:
            outcome.status = RunStatus.DEGRADED
        elif held:
            outcome.status = RunStatus.HELD
        elif tally.counts["failed"] or tally.shortfalls:
            # entities quarantined before the run started are counted, not alarmed on again
            outcome.status = RunStatus.PARTIAL
        return outcome

    async def _settle_quarantine(
        self,
        book: quarantine.Book,
        *,
        plan: planner.Plan,
        executed: list[act.Action],
        tally: Tally,
        full_scope: bool,
    ) -> None:
        """Records the run's failures and recoveries in the quarantine table: one write."""
        now = self.clock()
        book.settle(
            planned=plan.actions,
            executed=executed,
            failures=[quarantine.Failure(a, r, c) for a, r, c in tally.failures],
            full_scope=full_scope,
            now=now,
            max_attempts=self.options.max_entity_attempts,
            retry_s=self.options.entity_retry_s,
        )
        if book.changed:  # the usual run has nothing to record: no transaction
            async with self.sessionmaker.begin() as session:
                await book.save(session, now=now)

    def _note_invalid(self, pull: PullResult, book: quarantine.Book, tally: Tally) -> None:
        """Counts the invalid remote entities; those new to the quarantine are the run's
        shortfall, listed in its errors (the others are listed by the quarantine)."""
        for entity in pull.invalid:
            tally.counts["quarantined"] += 1
            if book.knows_invalid(entity):
                continue
            tally.shortfalls += 1
            name = f"{entity.kind}:external:{entity.external_id or '?'}"
            tally.errors.append({"entity": name, "reason": entity.reason})

    async def _pull(self) -> PullResult | _Outcome:
        """The pull, or the outcome of a run that could not make it."""
        try:
            return await self.client.pull()
        except ext_errors.AuthenticationError as exc:
            return _Outcome(RunStatus.FAILED, reason=str(exc))
        except (ext_errors.TransientError, ext_errors.CircuitOpen) as exc:
            return _Outcome(RunStatus.DEGRADED, reason=f"external API unavailable: {exc}")
        except ext_errors.ExternalError as exc:
            return _Outcome(RunStatus.FAILED, reason=str(exc))

    async def _read_local(self, list_id: int | None) -> _LocalReads:
        """What the run reads before it knows the pull: quarantine, moved rows, list rows.
        Only this connection's runs write the ledger, under the lease, so the ledger rows
        that `_load` reads later in another transaction agree with these."""
        connection_id = self.connection_id
        async with self.read_sessionmaker() as session:
            return _LocalReads(
                book=await quarantine.load(session, connection_id=connection_id),
                moved=await ledger.changed_local_rows(
                    session, tenant_id=self.tenant_id, connection_id=connection_id, list_id=list_id
                ),
                list_rows=await ledger.load_rows(
                    session, connection_id=connection_id, list_id=list_id, kind="list"
                ),
                pull_digest=await ledger.pull_digest(session, connection_id=connection_id),
            )

    async def _load(
        self, pull: PullResult, reads: _LocalReads, list_id: int | None
    ) -> tuple[planner.PlanInput, quarantine.Book]:
        """The plan's input: the local reads, and the ledger rows that the pull asks for."""
        connection_id = self.connection_id
        book, local, list_rows = reads.book, reads.moved, reads.list_rows
        async with self.read_sessionmaker() as session:
            remote = pull.lists
            if list_id is not None:
                remote = await self._scope_remote(session, pull.lists, list_rows, list_id)
            settled = frozenset[str]()
            if pull.complete:
                unsure = settle.unsure_lists(pull.invalid, book.remote_lists())
                settled = settle.settled(
                    list_rows=list_rows,
                    remote_lists=remote,
                    local=local,
                    unsure=unsure,
                    seen_pull=reads.pull_digest is not None
                    and reads.pull_digest == pull.body_digest,
                )
            # the items of the lists that are not settled (all of them when none is)
            unsettled = [r.external_id for r in list_rows if r.external_id not in settled]
            rows = list_rows + await ledger.load_rows(
                session,
                connection_id=connection_id,
                list_id=list_id,
                kind="item",
                items_of=unsettled if settled else None,
            )
            claimed = settle.unmatched_source_ids(remote, settled=settled, rows=rows)
            uid_rows = await ledger.rows_by_uid(session, connection_id=connection_id, uids=claimed)
            skew_s = effective_skew(pull.clock_skew_s)
            adopt_bases = await adoption.bases(
                session,
                tenant_id=self.tenant_id,
                local=local,
                ledger=[*rows, *uid_rows],
                remote_lists=remote,
                skew_s=skew_s,
            )
        data = planner.PlanInput(
            remote_lists=remote,
            local=local,
            ledger=rows,
            invalid=pull.invalid,
            complete=pull.complete,
            skew_s=skew_s,
            pulled_lists=len(pull.lists),
            settled=settled,
            settled_items=sum(len(r.items) for r in remote if r.id in settled),
            uid_rows=uid_rows,
            adopt_bases=adopt_bases,
        )
        return data, book

    async def _scope_remote(
        self,
        session: AsyncSession,
        remote: list[RemoteList],
        rows: list[LedgerRow],
        list_id: int,
    ) -> list[RemoteList]:
        found = await bulk.get_list(session, list_id, tenant_id=self.tenant_id)
        assert found is not None, "checked before the run started"
        mapped = {r.external_id for r in rows if r.kind == "list"}
        return [r for r in remote if r.id in mapped or r.source_id == found.uid]

    def _progress(self, run_id: int) -> Progress | None:
        observer, progress = self.observer, self.progress
        if observer is None:
            return progress

        def report(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)
            observer.run_progress(run_id=run_id, tenant_id=self.tenant_id, done=done, total=total)

        return report

    def _executor(self, tally: Tally, *, skew_s: float) -> Executor:
        return Executor(
            skew_s=skew_s,
            sessionmaker=self.sessionmaker,
            client=self.client,
            connection_id=self.connection_id,
            tenant_id=self.tenant_id,
            tally=tally,
            concurrency=self.options.push_concurrency,
            progress=self._progress(tally.run_id),
            should_stop=self._stop_now,
        )

    def _stop_now(self) -> bool:
        """A graceful shutdown, or a lost lease: the executor starts no further action."""
        return self._lease_lost or (self.should_stop is not None and self.should_stop())

    async def _save_digests(
        self, digests: Mapping[int, str | None], *, pull_digest: str | None, known: str | None
    ) -> str | None:
        """Records list digests and the pull digest they agree with (`settle`), in one
        transaction; returns the pull digest now recorded. The usual no-change run changes
        neither: no transaction."""
        if digests or pull_digest != known:
            async with self.sessionmaker.begin() as session:
                await ledger.set_digests(session, digests)
                if pull_digest != known:
                    await ledger.set_pull_digest(
                        session, connection_id=self.connection_id, digest=pull_digest
                    )
        return pull_digest

    async def _refresh_statistics(self, tally: Tally) -> None:
        created = tally.counts["local"]["created"] + tally.counts["remote"]["created"]
        if created >= _ANALYZE_AFTER_CREATED:
            async with self.sessionmaker.begin() as session:
                await ledger.refresh_statistics(session)

    async def _purge_tombstones(self) -> None:
        older_than = self.clock() - timedelta(seconds=self.options.tombstone_retention_s)
        async with self.sessionmaker.begin() as session:
            await bulk.purge_tombstones(
                session,
                tenant_id=self.tenant_id,
                older_than=older_than,
                keep_ids=ledger.mapped_local_ids,
            )

    async def _finish(self, report: RunReport, tally: Tally) -> None:
        async with self.sessionmaker.begin() as session:
            await runs.add_log_entries(session, tally.take_log())
            if not report.dry_run:  # a conflict whose entity is gone closes as obsolete
                await runs.close_obsolete_conflicts(
                    session,
                    connection_id=self.connection_id,
                    tenant_id=self.tenant_id,
                    run_id=report.run_id,
                    now=self.clock(),
                )
            await runs.finish_run(
                session,
                report.run_id,
                status=report.status,
                counts=report.counts,
                api_calls=report.api_calls,
                clock_skew_s=report.clock_skew_s,
                errors=report.errors,
                plan=report.plan,
                reason=report.reason,
            )


def _note_waiting(waiting: list[quarantine.Waiting], tally: Tally) -> None:
    """Counts and reports the actions skipped for their entity's back-off or dead letter."""
    for wait in waiting:
        action = wait.action
        if wait.dead:  # quarantined before the run: counted, and listed by the quarantine
            tally.counts["quarantined"] += 1
            reason = f"dead-lettered after {wait.attempts} attempts: {wait.reason}"
        else:  # still being retried: a shortfall of this run
            tally.shortfalls += 1
            tally.counts["skipped"] += 1
            until = wait.next_retry_at.isoformat() if wait.next_retry_at else "later"
            reason = f"backing off until {until} after {wait.attempts} failures: {wait.reason}"
            tally.errors.append({"entity": entity_name(action), "reason": reason})
        tally.log(
            kind=action.kind,
            action=action.verb,
            side=act.describe(action)["side"],
            local_id=getattr(action, "local_id", None),
            outcome="skipped",
            reason=reason,
        )
