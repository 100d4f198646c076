"""A few sample lists, so that a fresh demo has something to sync."""

from __future__ import annotations

from todosync.fake_external import schemas, state

__all__ = ["seed"]

_SAMPLE = {
    "Groceries": [("Milk", False), ("Bread", True), ("Coffee beans", False)],
    "Weekend": [("Fix the bike", False), ("Call grandma", False)],
    "Work": [("Write the release notes", True)],
}


def seed(store: state.Store, *, now: str) -> None:
    """Creates the sample lists when the store is empty."""
    if len(store):
        return
    for name, items in _SAMPLE.items():
        body = schemas.CreateList(
            name=name,
            items=[schemas.CreateItem(description=d, completed=c) for d, c in items],
        )
        store.create_list(body, now=now)
