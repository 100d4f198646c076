"""Reads the lists a remote phase will POST a group at a time, ahead of their calls.

Each `CreateRemoteList` needs its list and live items as they are now (not as planned). One
read transaction per list cost two queries and a connection check-out per call; here the
first call of a group loads the whole group (`GROUP` lists, two queries) and the others find
theirs loaded. Loads are serialised, so each group is read once; what was taken is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.store import bulk

__all__ = ["GROUP", "Loaded", "ReadAhead"]

Loaded = tuple[bulk.Row, list[bulk.Row]]
# Lists per read: a few calls' worth ahead of the 8 or so in flight, small enough that a
# group's items (a few thousand rows) are read in one short transaction.
GROUP = 16


class ReadAhead:
    """The lists of `list_ids`, in the order the phase will ask for them."""

    def __init__(
        self,
        read: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        list_ids: Sequence[int],
        *,
        group: int = GROUP,
    ) -> None:
        self._read = read
        self._groups = [list(list_ids[i : i + group]) for i in range(0, len(list_ids), group)]
        self._group_of = {list_id: n for n, ids in enumerate(self._groups) for list_id in ids}
        self._loaded: dict[int, Loaded | None] = {}
        self._lock = asyncio.Lock()

    async def get(self, list_id: int) -> Loaded | None:
        """The live list with its live items, or None if it is gone (deleted since the plan)."""
        if list_id not in self._loaded:
            async with self._lock:  # one load at a time: a group is read once
                if list_id not in self._loaded:
                    await self._load(self._groups_ids(list_id))
        return self._loaded.pop(list_id, None)

    def _groups_ids(self, list_id: int) -> list[int]:
        n = self._group_of.get(list_id)
        return [list_id] if n is None else self._groups[n]

    async def _load(self, list_ids: Sequence[int]) -> None:
        async with self._read() as session:
            found = await bulk.live_lists_with_items(session, list_ids)
        for list_id in list_ids:
            self._loaded.setdefault(list_id, found.get(list_id))
