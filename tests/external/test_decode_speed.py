"""Speed of the pull decode (run with `-m benchmark`): the typed fast path must not cost more
than a plain untyped decode of the same body."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import pytest

from todosync.external import decode

_STAMP = "2026-11-28T09:15:02.123Z"


def _body(*, lists: int, items: int) -> bytes:
    def item(n: int, m: int) -> dict[str, object]:
        return {
            "id": f"i{m}",
            "source_id": f"uid-{n}-{m}",
            "description": "Buy milk",
            "completed": m % 2 == 0,
            "created_at": _STAMP,
            "updated_at": _STAMP,
        }

    return msgspec.json.encode(
        [
            {
                "id": f"l{n}",
                "name": f"List {n}",
                "updated_at": _STAMP,
                "items": [item(n, m) for m in range(items)],
            }
            for n in range(lists)
        ]
    )


def _best_s(run: Callable[[], object], *, rounds: int = 5) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


@pytest.mark.benchmark
def test_fast_path_keeps_up_with_a_plain_decode() -> None:
    """100k valid items decode into typed structs within 1.5x of msgspec's untyped decode."""
    body = _body(lists=1000, items=100)
    plain_s = _best_s(lambda: msgspec.json.decode(body))
    typed_s = _best_s(lambda: decode.pull_page(body, seen=set()))
    size_mb = len(body) / 1e6
    print(f"\n{size_mb:.1f} MB: untyped {plain_s:.3f} s, pull_page {typed_s:.3f} s")
    assert typed_s <= plain_s * 1.5


@pytest.mark.benchmark
def test_one_bad_item_stays_cheap() -> None:
    """One bad item among 100k costs the slow path less than 4x the fast path."""
    body = _body(lists=1000, items=100)
    data = msgspec.json.decode(body)
    data[500]["items"][3]["completed"] = "yes"
    bad = msgspec.json.encode(data)
    fast_s = _best_s(lambda: decode.pull_page(body, seen=set()))
    slow_s = _best_s(lambda: decode.pull_page(bad, seen=set()), rounds=3)
    assert slow_s <= fast_s * 4
