"""The history's query parameters: `as_of` (valid time) and `known_at` (recorded time).

With neither, a read is of the current tables. `known_at` alone asks what the service showed
at that time (`as_of` = `known_at`); `as_of` alone, what it knows now about that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query
from pydantic import Field

from todosync.api import deps
from todosync.api.pagination import PageParams, PageQuery, decode_cursor
from todosync.history import service as history
from todosync.history.schemas import TimeParam

__all__ = ["AsOf", "AsOfPaging", "TimedPage"]

_AS_OF = "Valid time: the state as it was at this time (ISO 8601)."
_KNOWN_AT = "Recorded time: as this service knew it at this time (ISO 8601; default now)."


class _TimedPageQuery(PageQuery):
    as_of: TimeParam | None = Field(default=None, description=_AS_OF)
    known_at: TimeParam | None = Field(default=None, description=_KNOWN_AT)


def _moment(
    as_of: datetime | None, known_at: datetime | None, services: deps.ServicesDep
) -> history.Moment | None:
    moment = as_of or known_at
    if moment is None:
        return None
    return history.moment(
        as_of=moment,
        known_at=known_at,
        retention_days=services.settings.history_retention_days,
    )


async def _as_of(
    services: deps.ServicesDep,
    as_of: Annotated[TimeParam | None, Query(description=_AS_OF)] = None,
    known_at: Annotated[TimeParam | None, Query(description=_KNOWN_AT)] = None,
) -> history.Moment | None:
    return _moment(as_of, known_at, services)


@dataclass(frozen=True, slots=True)
class TimedPage:
    """Where a page starts and, for a read of the past, at which moment."""

    paging: PageParams
    at: history.Moment | None


async def _timed_page(
    query: Annotated[_TimedPageQuery, Query()], services: deps.ServicesDep
) -> TimedPage:
    after_id = 0 if query.cursor is None else decode_cursor(query.cursor)
    paging = PageParams(after_id=after_id, limit=query.limit)
    return TimedPage(paging=paging, at=_moment(query.as_of, query.known_at, services))


AsOf = Annotated[history.Moment | None, Depends(_as_of)]
AsOfPaging = Annotated[TimedPage, Depends(_timed_page)]
