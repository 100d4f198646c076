"""The events alone rebuild the current tables: a hypothesis state machine of random API
writes, remote edits, real sync runs and conflict resolutions, checked after every step.

After each step, folding every event with no time bound gives exactly the live lists and
items with their fields, and every row (tombstones too) has as many events as its `version`
(every write bumps it by one and appends one event). The machine reuses the sync tier's
`Env`: a private event loop and engine, since hypothesis rules are synchronous.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.fixtures.fake_external import FakeExternal
from tests.sync.harness import LocalSide
from tests.sync.test_engine_stateful import Env
from todosync import config
from todosync.external.client import ExternalClient
from todosync.history import fold, repository
from todosync.store.models import DEFAULT_TENANT_ID as TENANT
from todosync.store.models import TodoItem, TodoList
from todosync.sync import service as sync_service
from todosync.sync.books.conflict_status import ConflictStatus
from todosync.sync.books.models import SyncConflict
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine

Row = tuple[Any, ...]

CI_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_PICK = st.integers(min_value=0, max_value=7)
_GAP_S = 0.002  # writes a few ms apart, so that conflicts have a clear later write


class RebuildMachine(RuleBasedStateMachine):
    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        self.local = LocalSide(env.sessionmaker)
        self.fake = env.fake
        self.names = itertools.count(1)
        env.clean()

    def _text(self, prefix: str) -> str:
        time.sleep(_GAP_S)
        return f"{prefix}{next(self.names)}"

    def _lists(self) -> list[int]:
        return sorted(self.env.run(self.local.list_ids()).values())

    def _items(self) -> list[tuple[int, int]]:
        return [
            (list_id, item_id)
            for list_id in self._lists()
            for item_id in sorted(self.env.run(self.local.item_ids(list_id)).values())
        ]

    def _remote(self) -> list[dict[str, Any]]:
        return self.fake.state()

    # -- local (the API's service) -------------------------------------------------------

    @rule(items=st.integers(min_value=0, max_value=2))
    def create_list(self, items: int) -> None:
        """Creates a list with a few items."""
        names = [self._text("item ") for _ in range(items)]
        self.env.run(self.local.create_list(self._text("list "), names))

    @precondition(lambda self: bool(self._lists()))
    @rule(pick=_PICK)
    def rename_list(self, pick: int) -> None:
        lists = self._lists()
        self.env.run(self.local.rename_list(lists[pick % len(lists)], self._text("list ")))

    @precondition(lambda self: bool(self._lists()))
    @rule(pick=_PICK, done=st.booleans())
    def add_item(self, pick: int, done: bool) -> None:
        lists = self._lists()
        list_id = lists[pick % len(lists)]
        self.env.run(self.local.add_item(list_id, self._text("item "), completed=done))

    @precondition(lambda self: bool(self._items()))
    @rule(pick=_PICK, flip=st.booleans())
    def edit_item(self, pick: int, flip: bool) -> None:
        list_id, item_id = self._items()[pick % len(self._items())]
        fields: dict[str, Any] = {"description": self._text("item ")}
        if flip:
            fields = {"completed": True}
        self.env.run(self.local.update_item(list_id, item_id, **fields))

    @precondition(lambda self: bool(self._items()))
    @rule(pick=_PICK)
    def delete_item(self, pick: int) -> None:
        list_id, item_id = self._items()[pick % len(self._items())]
        self.env.run(self.local.delete_item(list_id, item_id))

    @precondition(lambda self: bool(self._lists()))
    @rule(pick=_PICK)
    def delete_list(self, pick: int) -> None:
        lists = self._lists()
        self.env.run(self.local.delete_list(lists[pick % len(lists)]))

    # -- remote (the fake) ---------------------------------------------------------------

    @rule(items=st.integers(min_value=0, max_value=2))
    def remote_create_list(self, items: int) -> None:
        names = [self._text("item ") for _ in range(items)]
        self.fake.create_list(self._text("list "), items=names)

    @precondition(lambda self: bool(self._remote()))
    @rule(pick=_PICK)
    def remote_rename_list(self, pick: int) -> None:
        lists = self._remote()
        self.fake.update_list(lists[pick % len(lists)]["id"], name=self._text("list "))

    @precondition(lambda self: any(lst["items"] for lst in self._remote()))
    @rule(pick=_PICK, flip=st.booleans())
    def remote_edit_item(self, pick: int, flip: bool) -> None:
        pairs = [(lst["id"], i) for lst in self._remote() for i in lst["items"]]
        list_id, item = pairs[pick % len(pairs)]
        if flip:
            self.fake.update_item(list_id, item["id"], completed=not item["completed"])
        else:
            self.fake.update_item(list_id, item["id"], description=self._text("item "))

    @precondition(lambda self: bool(self._remote()))
    @rule(pick=_PICK)
    def remote_delete_list(self, pick: int) -> None:
        lists = self._remote()
        self.fake.delete_list(lists[pick % len(lists)]["id"])

    # -- syncs and conflicts -------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        """One real run (deletes allowed: a held run is no different for the history)."""
        report = self.env.run(self._run())
        assert report.status in ("ok", "partial"), report.reason

    async def _run(self) -> Any:
        async with ExternalClient.from_settings(self.env.settings) as client:
            engine = SyncEngine(
                sessionmaker=self.env.sessionmaker,
                client=client,
                options=EngineOptions.from_settings(self.env.settings),
            )
            return await engine.run(RunRequest(allow_mass_delete=True))

    @precondition(lambda self: bool(self._open_conflicts()))
    @rule(pick=_PICK, choice=st.sampled_from(["local", "remote", "value"]))
    def resolve_conflict(self, pick: int, choice: str) -> None:
        """Resolves an open conflict, with a side's value or a new one (the entity may be
        gone, which is refused and writes nothing)."""
        conflicts = self._open_conflicts()
        conflict = conflicts[pick % len(conflicts)]
        value: Any = self._text("chosen ") if conflict.field != "completed" else True
        self.env.run(self._resolve(conflict.id, choice, value))

    async def _resolve(self, conflict_id: int, choice: str, value: Any) -> None:
        async with self.env.sessionmaker() as session:
            try:
                await sync_service.resolve_conflict(
                    session, conflict_id, tenant_id=TENANT, choice=choice, value=value
                )
            except Exception:
                await session.rollback()
                return
            await session.commit()

    def _open_conflicts(self) -> list[SyncConflict]:
        return [c for c in self.env.run(self.local.conflicts()) if c.status == ConflictStatus.OPEN]

    # -- the check -----------------------------------------------------------------------

    @invariant()
    def events_rebuild_the_tables(self) -> None:
        """The fold of every event equals the live rows; each row's version counts its events."""
        rebuilt, counts = self.env.run(self._rebuilt())
        tables, versions = self.env.run(self._tables())
        assert rebuilt == tables
        assert {key: counts.get(key, 0) for key in versions} == versions

    async def _rebuilt(self) -> tuple[set[Row], dict[tuple[str, int], int]]:
        async with self.env.sessionmaker() as session:
            events = await repository.tenant_events(session, tenant_id=TENANT)
        counts: dict[tuple[str, int], int] = {}
        for row in events:
            key = (row.kind, row.entity_id)
            counts[key] = counts.get(key, 0) + 1
        for seen in sorted({f"{e.actor_kind} {e.operation}" for e in events}):
            event(seen)  # `--hypothesis-show-statistics` shows what the examples covered
        rows = {_row(state) for state in fold.fold(events).values() if state.alive}
        return rows, counts

    async def _tables(self) -> tuple[set[Row], dict[tuple[str, int], int]]:
        async with self.env.sessionmaker() as session:
            lists = (await session.execute(sa.select(TodoList))).scalars().all()
            items = (await session.execute(sa.select(TodoItem))).scalars().all()
        rows: set[Row] = {("list", r.id, None, r.name) for r in lists if r.deleted_at is None}
        rows |= {
            ("item", r.id, r.list_id, r.description, bool(r.completed))
            for r in items
            if r.deleted_at is None
        }
        versions = {("list", r.id): r.version for r in lists}
        versions |= {("item", r.id): r.version for r in items}
        return rows, versions


def _row(state: fold.State) -> Row:
    if state.kind == "list":
        return ("list", state.entity_id, None, state.fields["name"])
    return (
        "item",
        state.entity_id,
        state.list_id,
        state.fields["description"],
        bool(state.fields["completed"]),
    )


def test_the_events_alone_rebuild_the_current_tables(
    sync_settings: config.Settings, fake_external: FakeExternal, blocking_engine: sa.Engine
) -> None:
    """Any interleaving of API writes, remote edits, syncs and resolutions keeps the event
    log a complete account of the tables."""
    env = Env(settings=sync_settings, fake=fake_external, blocking_engine=blocking_engine)

    class Machine(RebuildMachine):  # hypothesis takes a class, so bind `env` in a subclass
        def __init__(self) -> None:
            super().__init__(env)

    try:
        run_state_machine_as_test(Machine, settings=CI_SETTINGS)
    finally:
        env.close()
