"""Ids in URL paths: canonical decimal integers from 1 to 2^63-1 (PostgreSQL's BIGINT).

Anything else (`abc`, `0`, `-1`, `01`, `+1`, `1_0`, ` 1`, `2^63`) names no resource; the
problem handler turns the validation error into a 404.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from todosync.store.repository import MAX_ID

__all__ = ["CANONICAL_ID", "ConflictId", "ItemId", "ListId", "QuarantineId", "RunId"]

CANONICAL_ID = r"[1-9][0-9]{0,18}"
_CANONICAL = re.compile(CANONICAL_ID)


def _canonical(value: object) -> object:
    if isinstance(value, str) and not _CANONICAL.fullmatch(value):
        raise PydanticCustomError("id_invalid", "Not an id")
    return value


def _path_id(what: str) -> tuple[Any, ...]:
    return (Path(ge=1, le=MAX_ID, description=f"The {what}'s id."), BeforeValidator(_canonical))


ListId = Annotated[int, *_path_id("list")]
ItemId = Annotated[int, *_path_id("item")]
RunId = Annotated[int, *_path_id("run")]
ConflictId = Annotated[int, *_path_id("conflict")]
QuarantineId = Annotated[int, *_path_id("quarantined entity")]
