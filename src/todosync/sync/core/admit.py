"""The local rules on pulled data: what the local API refuses, a pull may not import either.

The external API promises no limits on text, and a server that checks nothing sends names of
any length, empty descriptions and NUL characters. The local API refuses those (1 to 1,000
characters for a name, 1 to 10,000 for a description, no NUL: `store.schemas.text_problem`),
so a pulled entity that breaks them becomes invalid remote data, quarantined on its own with
the reason like any other, and never reaches the database, whichever kind it is (PostgreSQL
refuses NUL outright; SQLite would store it). A list that breaks them takes its items with it,
as a list with a missing name does; an item that breaks them leaves its list and siblings be.

The usual pull breaks nothing, and costs one length and one NUL test per text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import msgspec

from todosync.external.schemas import InvalidEntity, PullResult, RemoteItem, RemoteList
from todosync.store.models import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from todosync.store.schemas import text_problem

__all__ = ["admit", "admit_pull"]


def admit_pull(pull: PullResult) -> PullResult:
    """The pull with what the local rules refuse moved from its lists to its invalid ones."""
    lists, refused = admit(pull.lists)
    if not refused:
        return pull
    return dataclasses.replace(pull, lists=lists, invalid=[*pull.invalid, *refused])


def admit(lists: Sequence[RemoteList]) -> tuple[list[RemoteList], list[InvalidEntity]]:
    """The pulled lists as they may be stored, and the entities the local rules refuse."""
    if all(map(_clean_list, lists)):
        return list(lists), []
    admitted: list[RemoteList] = []
    refused: list[InvalidEntity] = []
    for remote in lists:
        problem = text_problem(remote.name, max_length=MAX_NAME_LENGTH)
        if problem is not None:
            refused.append(_refused("list", remote, list_id=None, field="name", problem=problem))
            continue
        items: list[RemoteItem] = []
        for item in remote.items:
            problem = text_problem(item.description, max_length=MAX_DESCRIPTION_LENGTH)
            if problem is None:
                items.append(item)
            else:
                refused.append(
                    _refused("item", item, list_id=remote.id, field="description", problem=problem)
                )
        admitted.append(
            remote
            if len(items) == len(remote.items)
            else msgspec.structs.replace(remote, items=tuple(items))
        )
    return admitted, refused


def _clean_list(remote: RemoteList) -> bool:
    return _clean(remote.name, MAX_NAME_LENGTH) and all(
        _clean(item.description, MAX_DESCRIPTION_LENGTH) for item in remote.items
    )


def _clean(text: str, max_length: int) -> bool:
    # msgspec refuses lone surrogates in JSON already, so length and NUL are what is left
    return 0 < len(text) <= max_length and "\x00" not in text


def _refused(
    kind: Literal["list", "item"],
    entity: RemoteList | RemoteItem,
    *,
    list_id: str | None,
    field: str,
    problem: str,
) -> InvalidEntity:
    return InvalidEntity(
        kind=kind,
        external_id=entity.id,
        list_external_id=list_id,
        # the field's name and the rule, never its text
        reason=f"{field}: {problem[0].lower()}{problem[1:]} (a local rule)",
        raw=msgspec.to_builtins(entity),
    )
