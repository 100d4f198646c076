"""A page of rows read by keyset pagination: what the services hand the API's `?cursor=`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page"]

RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    """Rows in page order; `last_id` is where the next page starts, None on the last page."""

    rows: Sequence[RowT]
    last_id: int | None
