"""New rows' uids are UUIDs that sort in the order they were made, which keeps the unique
indexes on them growing at their end during a bulk import."""

from __future__ import annotations

import uuid

from todosync.store.models import new_uid


def test_uids_are_uuids_in_the_order_they_were_made() -> None:
    made = [new_uid() for _ in range(5_000)]
    assert all(uuid.UUID(uid).version == 7 for uid in made)
    assert len(set(made)) == len(made)
    assert sorted(made) == made
