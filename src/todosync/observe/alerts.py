"""The alert webhook (`TODOSYNC_ALERT_WEBHOOK_URL`): one POST per change of a connection's
alert state.

A connection's alert state is its last finished (non-dry) run's status when that is `failed`,
`held` or `degraded`, and `ok` otherwise (`ok` and `partial`: failing entities have their own
signal, the quarantine). When a run finishes in another state than the run before it, the
process that ran it (runs of a connection never overlap) posts

    {"event": "sync.state_changed", "tenant": "default", "connection": "default",
     "connection_id": 1, "run_id": 42, "state": "failed", "previous": "ok",
     "reason": "...", "at": "2026-...Z"}

with retries (stamina: network errors and 5xx/429 from the receiver, backing off), in the
background so the run never waits for it. The body names the tenant and the connection (an
operator with several must know whose sync broke), with ids and the run's reason (which
never holds a secret); no list or item data.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import stamina
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.clock import utc_now
from todosync.config import Settings
from todosync.sync.books import queries, run_status

__all__ = ["ALERT_STATES", "Notifier", "alert_state", "from_settings"]

log = logging.getLogger(__name__)

ALERT_STATES = run_status.ALARMING


def alert_state(status: str) -> str:
    return status if status in ALERT_STATES else "ok"


class _Retryable(Exception):
    """The receiver answered 5xx or 429: worth another try."""


class Notifier:
    """Posts transitions to one webhook URL; `aclose()` waits for posts in flight."""

    def __init__(
        self,
        *,
        url: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        attempts: int = 5,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._sessionmaker = sessionmaker
        self._attempts = attempts
        self._http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._pending: set[asyncio.Task[None]] = set()

    async def run_finished(self, *, run_id: int, connection_id: int, dry_run: bool) -> None:
        """Posts (in the background) if this run changed the connection's alert state."""
        if dry_run:
            return
        async with self._sessionmaker() as session:
            body = await _transition(session, run_id=run_id, connection_id=connection_id)
        if body is not None:
            task = asyncio.create_task(self._post(body), name="todosync-alert-webhook")
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=30.0)
        await self._http.aclose()

    async def _post(self, body: dict[str, Any]) -> None:
        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError, _Retryable), attempts=self._attempts
            ):
                with attempt:
                    response = await self._http.post(self._url, json=body)
                    if response.status_code >= 500 or response.status_code == 429:
                        raise _Retryable(f"webhook answered {response.status_code}")
            if response.is_error:
                log.warning("alert webhook refused the alert (%s)", response.status_code)
        except (httpx.TransportError, _Retryable) as exc:
            # never the URL: it may carry a secret of the receiver
            log.warning("alert webhook unreachable (%s)", type(exc).__name__)


def from_settings(
    settings: Settings, *, sessionmaker: async_sessionmaker[AsyncSession]
) -> Notifier | None:
    """The notifier of `TODOSYNC_ALERT_WEBHOOK_URL`, or None when it is not set."""
    url = settings.alert_webhook_url
    if url is None:
        return None
    return Notifier(url=url.get_secret_value(), sessionmaker=sessionmaker)


async def _transition(
    session: AsyncSession, *, run_id: int, connection_id: int
) -> dict[str, Any] | None:
    """The webhook body when `run_id` changed the connection's alert state, else None."""
    rows = await queries.last_finished_runs(session, connection_id=connection_id, count=2)
    if not rows or rows[0].id != run_id:
        return None  # a newer run has finished meanwhile: it reports for itself
    state = alert_state(rows[0].status)
    # the first run ever counts as a change only when it is not ok
    previous = alert_state(rows[1].status) if len(rows) > 1 else "ok"
    if state == previous:
        return None
    tenant, connection = await queries.connection_names(session, connection_id=connection_id)
    return {
        "event": "sync.state_changed",
        "tenant": tenant,
        "connection": connection,
        "connection_id": connection_id,
        "run_id": run_id,
        "state": state,
        "previous": previous,
        "reason": rows[0].reason,
        "at": utc_now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
