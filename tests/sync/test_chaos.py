"""Seeded chaos: random edits on both sides, syncs under random faults (500s, 429s, timeouts,
dropped connections and ambiguous writes), then, once the faults stop, at most two syncs.

The engine runs in-process (a fresh client per run, as one `todosync sync` process has)
against the real fake server over HTTP, with stamina in testing mode so retries never sleep.
Every text written is unique (`L<list>.<generation>`, `I<item>.<generation>`), and the test
keeps, per entity, the last value written to each field and which sides edited or deleted it.
After the last sync:

- both sides are equal, and no list or item appears twice on either side;
- nothing is lost: an entity that neither side deleted is there, with the last values written;
- deletions hold: an entity deleted on one side and never edited on the other is gone.

Within one round a field is edited on one side only, so that "the last value written" is well
defined (two rounds are always a sync apart, far more than the millisecond timestamps need).
`completed` is checked only while written at most once: a flag set and set back is, by design
(change detection by content), no change at all.
The fake does not bump a list's `updated_at` when its items change: with that bump a list
renamed on both sides can be decided by an item edit (NOTES.md, "Merge and conflicts").
Two limits of the API, also in NOTES.md ("Sync under failure"), are kept out of the remote
user's hands: it deletes only entities the ledger maps (a create whose answer was lost and
that is deleted before the next run is created again), and it leaves alone lists whose name
appears twice (the two copies of an unfinished re-create).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import sqlalchemy as sa
import stamina
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.fake_external import FakeExternal, FaultRule
from tests.sync.harness import LocalSide, remote_snapshot
from todosync import config
from todosync.external.client import ExternalClient
from todosync.store.models import TodoItem, TodoList
from todosync.sync.books.models import SyncState
from todosync.sync.books.report import RunReport
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine

Side = Literal["local", "remote"]
SIDES: tuple[Side, Side] = ("local", "remote")
CI_SEEDS = range(200)
SLOW_SEEDS = range(200, 1200)
_WRITES = ["POST", "PATCH", "DELETE"]
_OPS = ["create", "rename", "add", "describe", "toggle", "delete item", "delete list"]
# the unreadable family: the remote side also gains items no sync can read (nulls)
_OPS_UNREADABLE = [*_OPS, "poison"]
UNREADABLE_SEEDS = range(5000, 5040)


@pytest.fixture(autouse=True)
def _retries_never_sleep() -> Iterator[None]:
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@dataclass
class Rec:
    """One list or item: the last text and flag written, who edited and who deleted it."""

    text: str
    completed: bool = False
    parent: int | None = None  # an item's list
    generation: int = 0
    toggles: int = 0  # writes of `completed`
    edited_by: set[Side] = field(default_factory=set)
    deleted_by: set[Side] = field(default_factory=set)


@dataclass
class View:
    """One side's live entities: list key → (id, {item key → (id, completed)})."""

    lists: dict[int, tuple[str, dict[int, tuple[str, bool]]]]


def _key(text: str) -> int:
    return int(text[1:].split(".")[0])


class Chaos:
    """Edits both sides at random, remembering what each entity must end up as."""

    def __init__(
        self,
        rng: random.Random,
        fake: FakeExternal,
        local: LocalSide,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ops: Sequence[str] = _OPS,
    ) -> None:
        self.rng = rng
        self.op_names = list(ops)
        # list key -> ids of the unreadable items put into it remotely
        self.poison: dict[int, set[str]] = {}
        self.fake = fake
        self.local = local
        self.sessionmaker = sessionmaker
        self.lists: dict[int, Rec] = {}
        self.items: dict[int, Rec] = {}
        self.ids = itertools.count(1)
        self.touched: dict[tuple[str, int, str], Side] = {}
        self.ops: list[str] = []  # what was done, for the failure message

    # -- views ------------------------------------------------------------------------------

    async def local_view(self) -> View:
        async with self.sessionmaker() as session:
            lists = await session.execute(
                sa.select(TodoList.id, TodoList.name).where(TodoList.deleted_at.is_(None))
            )
            items = await session.execute(
                sa.select(
                    TodoItem.id, TodoItem.list_id, TodoItem.description, TodoItem.completed
                ).where(TodoItem.deleted_at.is_(None))
            )
        view = View({_key(name): (str(id_), {}) for id_, name in lists})
        by_id = {int(v[0]): k for k, v in view.lists.items()}
        for id_, list_id, description, completed in items:
            view.lists[by_id[list_id]][1][_key(description)] = (str(id_), bool(completed))
        return view

    async def remote_view(self, *, mapped_only: bool = False) -> View:
        state = self.fake.state()
        names = [todo["name"] for todo in state]
        mapped = await self._mapped() if mapped_only else None
        view = View({})
        for todo in state:
            if names.count(todo["name"]) > 1:
                continue  # two copies of an unfinished re-create: left alone
            if mapped is not None and ("", todo["id"]) not in mapped:
                continue
            items = {
                _key(i["description"]): (i["id"], bool(i["completed"]))
                for i in todo["items"]
                if isinstance(i["description"], str)  # not an unreadable one
                and (mapped is None or (todo["id"], i["id"]) in mapped)
            }
            view.lists[_key(todo["name"])] = (todo["id"], items)
        return view

    async def _mapped(self) -> set[tuple[str, str]]:
        async with self.sessionmaker() as session:
            rows = await session.execute(
                sa.select(SyncState.parent_external_id, SyncState.external_id)
            )
            return {(parent, external) for parent, external in rows}

    # -- edits ------------------------------------------------------------------------------

    async def round(self) -> None:
        self.touched = {}
        for _ in range(self.rng.randint(2, 7)):
            side = self.rng.choice(SIDES)
            op = self.rng.choice(self.op_names)
            if op == "poison":
                side = "remote"
            self.ops.append(f"{side} {op}")
            if op == "create":
                await self.create(side)
            elif op == "poison":
                await self.poison_one()
            elif op.startswith("delete"):
                await self.delete(side, lists=op == "delete list")
            else:
                await self.edit(side, op)

    async def create(self, side: Side) -> None:
        key = next(self.ids)
        self.lists[key] = Rec(f"L{key}.0")
        texts = []
        for _ in range(self.rng.randint(0, 2)):
            item = next(self.ids)
            self.items[item] = Rec(f"I{item}.0", parent=key)
            texts.append(f"I{item}.0")
        if side == "local":
            await self.local.create_list(self.lists[key].text, texts)
        else:
            self.fake.create_list(self.lists[key].text, items=texts)

    async def poison_one(self) -> None:
        """Puts an item that no sync can read (a null description) into a remote list, as a
        server that checks nothing lets another client do."""
        view = await self.remote_view()
        if not view.lists:
            return
        list_key = self.rng.choice(sorted(view.lists))
        list_id = view.lists[list_key][0]
        item_id = f"P{next(self.ids)}"
        self.poison.setdefault(list_key, set()).add(item_id)
        self.ops.append(f"  list {list_key}")
        state = self.fake.state()
        for todo in state:
            if todo["id"] == list_id:
                todo["items"].append({"id": item_id, "description": None, "completed": False})
        self.fake.load_state(state)

    def unreadable_kept(self) -> None:
        """Every unreadable item is still on the remote side, unless the remote user
        deleted its list: no sync deleted what it could not read."""
        remote = {i["id"] for todo in self.fake.state() for i in todo["items"]}
        for list_key, item_ids in self.poison.items():
            if "remote" not in self.lists[list_key].deleted_by:
                assert item_ids <= remote, f"unreadable items of list {list_key} lost {self.ops}"

    def _claim(self, kind: str, key: int, name: str, side: Side) -> bool:
        """Whether `side` may write this field in this round (the other side has not)."""
        other = self.touched.setdefault((kind, key, name), side)
        return other == side

    async def edit(self, side: Side, op: str) -> None:
        view = await (self.local_view() if side == "local" else self.remote_view())
        if not view.lists:
            return
        list_key = self.rng.choice(sorted(view.lists))
        list_id, items = view.lists[list_key]
        rec = self.lists[list_key]
        self.ops.append(f"  list {list_key}")
        if op == "rename":
            if self._claim("list", list_key, "name", side):
                rec.generation += 1
                rec.text = f"L{list_key}.{rec.generation}"
                rec.edited_by.add(side)
                await self._rename(side, list_id, rec.text)
            return
        if op == "add":
            new_key = next(self.ids)
            self.items[new_key] = Rec(f"I{new_key}.0", parent=list_key, edited_by={side})
            rec.edited_by.add(side)
            await self._add(side, list_id, self.items[new_key].text)
            return
        if not items:
            return
        item_key = self.rng.choice(sorted(items))
        item_id, completed = items[item_key]
        self.ops.append(f"  item {item_key}")
        item = self.items[item_key]
        name = "description" if op == "describe" else "completed"
        if not self._claim("item", item_key, name, side):
            return
        item.edited_by.add(side)
        rec.edited_by.add(side)  # an item's edit is an edit of its list
        if op == "describe":
            item.generation += 1
            item.text = f"I{item_key}.{item.generation}"
            await self._update_item(side, list_id, item_id, description=item.text)
        else:
            item.completed = not completed
            item.toggles += 1
            await self._update_item(side, list_id, item_id, completed=item.completed)

    async def delete(self, side: Side, *, lists: bool) -> None:
        view = await (self.local_view() if side == "local" else self.remote_view(mapped_only=True))
        if not view.lists:
            return
        list_key = self.rng.choice(sorted(view.lists))
        list_id, items = view.lists[list_key]
        self.ops.append(f"  list {list_key}")
        if lists:
            self.lists[list_key].deleted_by.add(side)
            if side == "local":
                await self.local.delete_list(int(list_id))
            else:
                self.fake.delete_list(list_id)
            return
        if not items:
            return
        item_key = self.rng.choice(sorted(items))
        self.items[item_key].deleted_by.add(side)
        if side == "local":
            await self.local.delete_item(int(list_id), int(items[item_key][0]))
        else:
            self.fake.delete_item(list_id, items[item_key][0])

    async def _rename(self, side: Side, list_id: str, name: str) -> None:
        if side == "local":
            await self.local.rename_list(int(list_id), name)
        else:
            self.fake.update_list(list_id, name=name)

    async def _add(self, side: Side, list_id: str, text: str) -> None:
        if side == "local":
            await self.local.add_item(int(list_id), text)
        else:
            self.fake.add_item(list_id, text)

    async def _update_item(
        self, side: Side, list_id: str, item_id: str, **fields: str | bool
    ) -> None:
        if side == "local":
            await self.local.update_item(int(list_id), int(item_id), **fields)
        else:
            self.fake.update_item(list_id, item_id, **fields)  # type: ignore[arg-type]

    # -- the verdict ------------------------------------------------------------------------

    async def check(self, history: list[str]) -> None:
        """Equal sides, no duplicates, nothing lost, deletions kept (outside the lists that
        hold unreadable items: their re-creates and deletes wait, by design)."""
        local = self._readable(await self.local.snapshot())
        remote = self._readable(remote_snapshot(self._without_poison()))
        context = f"\nlocal {local}\nremote {remote}\nruns {history}\nops {self.ops}"
        assert local == remote, context
        list_keys = [_key(name) for name, _ in local]
        item_keys = [_key(text) for _, items in local for text, _ in items]
        assert len(list_keys) == len(set(list_keys)), f"a duplicate list{context}"
        assert len(item_keys) == len(set(item_keys)), f"a duplicate item{context}"
        found = {_key(name): name for name, _ in local}
        for key, rec in self.lists.items():
            if key in self.poison:
                continue
            if not rec.deleted_by:
                assert found.get(key) == rec.text, f"list {key} lost or not updated{context}"
            elif _must_stay_deleted(rec):
                assert key not in found, f"list {key} came back{context}"
        items = {_key(text): (text, done, _key(name)) for name, its in local for text, done in its}
        for key, item in self.items.items():
            if self.lists[item.parent or 0].deleted_by or item.parent in self.poison:
                continue  # its list was deleted: it may or may not come back with it
            if not item.deleted_by:
                # `completed` has two values: written twice, it may be back at the agreed one,
                # which content-based change detection rightly reads as no change (A-B-A)
                found_item = items.get(key)
                done = item.completed if item.toggles < 2 or found_item is None else found_item[1]
                expected = (item.text, done, item.parent)
                assert found_item == expected, f"item {key} lost or not updated{context}"
            elif _must_stay_deleted(item):
                assert key not in items, f"item {key} came back{context}"

    def _without_poison(self) -> list[dict[str, Any]]:
        state = self.fake.state()
        for todo in state:
            todo["items"] = [i for i in todo["items"] if isinstance(i["description"], str)]
        return state

    def _readable(self, snapshot: list[Any]) -> list[Any]:
        return [entry for entry in snapshot if _key(entry[0]) not in self.poison]


def _must_stay_deleted(rec: Rec) -> bool:
    """Deleted on one side and never edited on the other (an edit there may bring it back,
    after which that side may delete it too)."""
    others = {side for deleter in rec.deleted_by for side in SIDES if side != deleter}
    return any(side not in rec.edited_by for side in others)


def _faults(rng: random.Random) -> list[FaultRule]:
    """A random mix of every fault kind, each at its own rate (ambiguous ones on writes)."""

    def rate() -> float:
        return rng.choice([0.0, 0.05, 0.1, 0.2])

    return [
        FaultRule(kind="applied_then_500", methods=_WRITES, rate=rate()),
        FaultRule(kind="applied_then_drop", methods=_WRITES, rate=rate()),
        FaultRule(kind="applied_then_hang", methods=_WRITES, rate=rate(), hang_s=0.02),
        FaultRule(kind="error", rate=rate()),
        FaultRule(kind="rate_limit", rate=rate(), retry_after_s=0),
        FaultRule(kind="timeout", rate=rate(), hang_s=0.02),
        FaultRule(kind="drop", rate=rate()),
    ]


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: config.Settings,
    *,
    unreadable: bool = False,
) -> RunReport:
    """One run. A side emptied at random is what the mass-delete guard exists for (tested on
    its own); here every deletion is meant, so the guard is released, except with unreadable
    items, whose guard the same release lifts: then the guard's thresholds are out of reach,
    and only a held empty pull (which holds nothing unreadable) is run again released."""
    async with ExternalClient.from_settings(settings) as client:
        engine = SyncEngine(
            sessionmaker=sessionmaker, client=client, options=EngineOptions.from_settings(settings)
        )
        report = await engine.run(RunRequest(allow_mass_delete=not unreadable))
    if report.status == "held":
        return await _run(sessionmaker, settings)
    return report


def _settled(report: RunReport) -> bool:
    """Ok, or partial only for steps held because they would delete unreadable items."""
    held = all(" held: " in error["reason"] for error in report.errors)
    return report.status == "ok" or (report.status == "partial" and held)


async def _chaos(
    seed: int,
    fake: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
    *,
    unreadable: bool = False,
) -> None:
    rng = random.Random(seed)
    fake.configure(bump_list_on_item_change=False, validation=not unreadable)
    settings = sync_settings.model_copy(
        update={
            "external_max_attempts": 3,
            "external_retry_budget_seconds": 5.0,
            "breaker_failure_threshold": 5,
            "push_concurrency": 4,
            "mass_delete_min": 1_000_000,
        }
    )
    chaos = Chaos(rng, fake, local, sessionmaker, ops=_OPS_UNREADABLE if unreadable else _OPS)
    for _ in range(2):
        await chaos.create(rng.choice(SIDES))
    assert (await _run(sessionmaker, settings, unreadable=unreadable)).status == "ok"
    history: list[str] = []  # what each run did, for the failure message
    for round_ in range(rng.randint(2, 3)):
        await chaos.round()
        fake.set_faults(_faults(rng), seed=seed * 10 + round_)
        report = await _run(sessionmaker, settings, unreadable=unreadable)
        history.append(f"{report.status} {report.counts} {report.errors}")
        chaos.ops.append("sync")
        fake.clear_faults()
    for _ in range(3 if unreadable else 2):
        report = await _run(sessionmaker, settings, unreadable=unreadable)
        history.append(f"{report.status} {report.counts} {report.errors}")
        if _settled(report) and chaos._readable(await local.snapshot()) == chaos._readable(
            remote_snapshot(chaos._without_poison())
        ):
            break
    assert _settled(report) if unreadable else report.status == "ok", history
    await chaos.check(history)
    chaos.unreadable_kept()


# Requests cut short by injected timeouts and drops can leave an httpcore socket (or its
# asyncio transport) for the garbage collector, which then warns inside whatever code runs
# next (each seen about once in 200 seeds).
_SOCKETS_LEFT_TO_GC = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
    "ignore:Exception ignored in. <function _SelectorTransport.__del__"
    ":pytest.PytestUnraisableExceptionWarning",
)


@_SOCKETS_LEFT_TO_GC
@pytest.mark.parametrize("seed", CI_SEEDS)
async def test_chaos_converges_without_duplicates_or_loss(
    seed: int,
    fake_external: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
) -> None:
    """Edits and syncs under random faults, then at most two syncs: equal, nothing doubled,
    nothing lost, deletions kept."""
    await _chaos(seed, fake_external, local, sessionmaker, sync_settings)


@pytest.mark.slow
@_SOCKETS_LEFT_TO_GC
@pytest.mark.parametrize("seed", SLOW_SEEDS)
async def test_chaos_soak(
    seed: int,
    fake_external: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
) -> None:
    """The chaos test over another thousand seeds."""
    await _chaos(seed, fake_external, local, sessionmaker, sync_settings)


@_SOCKETS_LEFT_TO_GC
@pytest.mark.parametrize("seed", UNREADABLE_SEEDS)
async def test_chaos_with_unreadable_remote_items_never_deletes_them(
    seed: int,
    fake_external: FakeExternal,
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
    sync_settings: config.Settings,
) -> None:
    """The chaos test with items no sync can read put into remote lists: they are never
    deleted by a sync, and everything else converges as usual."""
    await _chaos(seed, fake_external, local, sessionmaker, sync_settings, unreadable=True)
