"""Retention folds events older than the window into one baseline per entity; every read
inside the window answers as before, and the housekeeping runs it."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.history.events import all_events
from tests.sync.harness import LocalSide
from todosync import config
from todosync.clock import utc_now
from todosync.errors import NotFoundError
from todosync.history import retention
from todosync.history import service as history
from todosync.jobs.scheduler import Scheduler
from todosync.store.models import DEFAULT_TENANT_ID as TENANT


async def _pause() -> datetime:
    await asyncio.sleep(0.01)
    moment = utc_now()
    await asyncio.sleep(0.01)
    return moment


async def _answers(
    sessionmaker: async_sessionmaker[AsyncSession], list_id: int, moments: list[datetime]
) -> dict[tuple[int, int], object]:
    """The list's name and items at every pair of moments (None where it did not exist)."""
    answers: dict[tuple[int, int], object] = {}
    async with sessionmaker() as session:
        for i, as_of in enumerate(moments):
            for k, known_at in enumerate(moments):
                at = history.Moment(as_of, known_at)
                try:
                    state = await history.get_list(session, list_id, tenant_id=TENANT, at=at)
                except NotFoundError:
                    answers[i, k] = None
                    continue
                items = await history.list_items(
                    session, list_id, tenant_id=TENANT, at=at, after_id=0, limit=50
                )
                answers[i, k] = (state.fields, [s.fields for s in items.rows])
    return answers


async def test_folding_keeps_every_answer_inside_the_window(
    local: LocalSide, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Events before the cutoff become baselines; reads at or after it do not change."""
    list_id = await local.create_list("A", ["milk", "eggs"])
    items = await local.item_ids(list_id)
    await local.rename_list(list_id, "B")
    await local.update_item(list_id, items["milk"], completed=True)
    await local.delete_item(list_id, items["eggs"])
    cutoff = await _pause()
    await local.rename_list(list_id, "C")
    middle = await _pause()
    await local.add_item(list_id, "bread")
    moments = [cutoff, middle, await _pause()]
    before = await _answers(sessionmaker, list_id, moments)

    removed = await retention.fold_window(sessionmaker, cutoff=cutoff)

    events = await all_events(engine)
    assert removed == 4  # 7 old events (list 2, milk 2, eggs 3) became 2 baselines + 1 gone
    assert [(e.kind, e.operation) for e in events if e.operation == "baseline"] == [
        ("list", "baseline"),
        ("item", "baseline"),
    ]
    assert all(e.actor_kind == "retention" for e in events if e.operation == "baseline")
    assert await _answers(sessionmaker, list_id, moments) == before


async def test_a_second_fold_with_nothing_new_changes_nothing(
    local: LocalSide, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A baseline alone is not folded again."""
    await local.create_list("A")
    cutoff = await _pause()
    await retention.fold_window(sessionmaker, cutoff=cutoff)
    first = await all_events(engine)

    assert await retention.fold_window(sessionmaker, cutoff=utc_now()) == 0
    assert [e.id for e in await all_events(engine)] == [e.id for e in first]


async def test_an_entity_deleted_before_the_window_leaves_no_event(
    local: LocalSide, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Nothing inside the window can see it, so nothing of it is kept."""
    list_id = await local.create_list("Old", ["x"])
    await local.delete_list(list_id)
    cutoff = await _pause()

    await retention.fold_window(sessionmaker, cutoff=cutoff)

    assert await all_events(engine) == []


async def test_the_housekeeping_folds_history_past_the_retention_days(
    local: LocalSide,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    database_url: str,
) -> None:
    """A scheduler whose clock is 91 days ahead folds today's events into baselines."""
    list_id = await local.create_list("A")
    await local.rename_list(list_id, "B")
    settings = config.Settings(database_url=database_url, history_retention_days=90)
    scheduler = Scheduler(
        sessionmaker=sessionmaker,
        settings=settings,
        clock=lambda: utc_now() + timedelta(days=91),
        rng=random.Random(1),
    )

    await scheduler.housekeep()

    (baseline,) = await all_events(engine)
    assert (baseline.operation, baseline.after) == ("baseline", {"name": "B"})
