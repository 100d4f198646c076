"""The in-memory fake serialises a large pull fast enough for benchmarks."""

from __future__ import annotations

import time

import msgspec

from todosync.fake_external import schemas, state


def test_100k_items_serialise_well_under_a_second() -> None:
    """Rendering and encoding 1,000 lists of 100 items takes well under a second."""
    store = state.Store()
    items = [schemas.CreateItem(description=f"item {n}", source_id=f"uid-{n}") for n in range(100)]
    for n in range(1000):
        store.create_list(
            schemas.CreateList(name=f"list {n}", items=items), now="2026-11-28T00:00:00.000Z"
        )
    started = time.perf_counter()
    body = msgspec.json.encode(store.render())
    elapsed = time.perf_counter() - started
    assert len(msgspec.json.decode(body)) == 1000
    assert elapsed < 0.5, elapsed
