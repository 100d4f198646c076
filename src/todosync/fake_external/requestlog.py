"""The log of public requests, readable while requests are still in flight.

A record is appended when a request arrives and completed when it ends, so a test can poll
`GET /__control/requests` for "the third POST has arrived" while that POST is held.
Control requests and requests marked untracked are never logged.
"""

from __future__ import annotations

import time

import msgspec

__all__ = ["RequestLog", "RequestRecord"]


class RequestRecord(msgspec.Struct, kw_only=True):
    """One public request as the server saw it."""

    seq: int
    """1-based position since the log was last cleared."""
    method: str
    path: str
    query: str
    started_at: str
    """Real arrival time (RFC 3339, UTC, no clock offset)."""
    status: int | None = None
    """Status sent; None while in flight or when no response was sent (drop, hang)."""
    duration_ms: float | None = None
    fault: str | None = None
    """The injected fault kind (`latency` when only a delay was added), or None."""
    applied: bool = False
    """Whether the API handled the request successfully (< 400): for a write, whether it took
    effect, even if the client then got an injected 500 or no answer."""
    done: bool = False


class RequestLog:
    """Append-only list of records with a clear; single-threaded (the server's event loop)."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []

    def start(self, *, method: str, path: str, query: str, started_at: str) -> RequestRecord:
        """Appends and returns the record of an arriving request."""
        record = RequestRecord(
            seq=len(self._records) + 1,
            method=method,
            path=path,
            query=query,
            started_at=started_at,
        )
        self._records.append(record)
        return record

    @staticmethod
    def finish(record: RequestRecord, *, started: float) -> None:
        """Marks a record done; `started` is the `time.monotonic()` of its arrival."""
        record.duration_ms = round((time.monotonic() - started) * 1000, 3)
        record.done = True

    def records(self) -> list[RequestRecord]:
        return list(self._records)

    def clear(self) -> None:
        self._records = []
