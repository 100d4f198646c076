"""Ids in URL paths: canonical decimal integers from 1 to 2^63-1 (PostgreSQL's BIGINT).

Anything else (`abc`, `0`, `-1`, `01`, `+1`, `1_0`, ` 1`, `2^63`) names no resource; the
problem handler turns the validation error into a 404.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from todosync.store.repository import MAX_ID

__all__ = ["ItemId", "ListId"]

_CANONICAL = re.compile(r"[1-9][0-9]{0,18}")


def _canonical(value: object) -> object:
    if isinstance(value, str) and not _CANONICAL.fullmatch(value):
        raise PydanticCustomError("id_invalid", "Not an id")
    return value


ListId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The list's id."), BeforeValidator(_canonical)
]
ItemId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The item's id."), BeforeValidator(_canonical)
]
