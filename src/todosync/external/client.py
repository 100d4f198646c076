"""The external API client: the only code in todosync that speaks HTTP to the external API.

    async with ExternalClient.from_settings(settings) as client:
        client.reset_run_budget()          # once per sync run
        pulled = await client.pull()       # every page; pulled.complete says if all came
        new = NewList(uid, "Groceries", [NewItem(item_uid, "Milk", False)])
        created = await client.create_list(new)

Each call passes the circuit breaker (`breaker`), then stamina's retries under the run's budget
(`resilience`), then one httpx request per attempt (`transport`); bodies are decoded by
`decode`. Failures surface as the classes of `errors`. The client counts the requests it
sends, reports each one to an optional `on_request` hook, and measures the API's clock skew
from every `Date` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx
import msgspec

from todosync.clock import utc_now
from todosync.external import decode, errors, resilience, transport
from todosync.external.breaker import CircuitBreaker, CircuitState
from todosync.external.schemas import (
    InvalidEntity,
    NewItem,
    NewList,
    PullResult,
    RemoteItem,
    RemoteList,
)
from todosync.external.target import Target
from todosync.external.transport import Call

if TYPE_CHECKING:
    from pydantic import SecretStr

    from todosync.config import Settings

__all__ = ["SKEW_RESOLUTION_S", "ExternalClient", "RequestHook"]

log = logging.getLogger(__name__)

R = TypeVar("R")

RequestHook = Callable[[str, int | None, float], None]
"""Called after every attempt with (method, status or None, duration in seconds)."""

_UNSUPPORTED = frozenset({404, 405, 501})
DEFAULT_MAX_PAGES = 1000


@dataclass(frozen=True)
class _Answer:
    response: httpx.Response
    server_date: datetime | None
    skew_s: float | None


SKEW_RESOLUTION_S = 0.5
"""Half a second of `Date`'s one-second resolution: the clock skew cannot be told more finely."""


class ExternalClient:
    """A client for one external API; owns (and closes) the httpx client it is given."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        token: SecretStr | None,
        policy: resilience.RetryPolicy,
        breaker: CircuitBreaker,
        on_request: RequestHook | None = None,
        on_retry: Callable[[resilience.RetryNote], None] | None = None,
        now: Callable[[], datetime] = utc_now,
        max_pages: int = DEFAULT_MAX_PAGES,
        token_source: str = transport.TOKEN_SETTING,
    ) -> None:
        self._base = transport.check_base_url(base_url, token_source=token_source)
        self._http = http
        self._auth = transport.BearerAuth(token) if token is not None else None
        self._host = self._base.netloc.decode("ascii")
        self._hint = transport.auth_hint(
            host=self._host, has_token=token is not None, token_source=token_source
        )
        self._policy = policy
        self._budget = resilience.RetryBudget(total_s=policy.budget_s)
        self._breaker = breaker
        self._on_request = on_request
        self._on_retry = on_retry
        self._now = now
        self._max_pages = max_pages
        self._request_count = 0
        self._last_skew_s: float | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        target: Target | None = None,
        on_request: RequestHook | None = None,
        on_retry: Callable[[resilience.RetryNote], None] | None = None,
        on_circuit_change: Callable[[CircuitState], None] | None = None,
    ) -> ExternalClient:
        """A client with the settings' timeouts, retries and breaker, for `target` (default:
        the settings' URL and token)."""
        target = target or Target.from_settings(settings)
        transport.check_base_url(target.url, url_source=target.url_source)  # before opening
        transport.quiet_http_loggers()
        breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            reset_s=settings.breaker_reset_seconds,
            on_change=on_circuit_change,
        )
        return cls(
            http=transport.build_http(settings),
            base_url=target.url,
            token=target.token,
            policy=resilience.RetryPolicy.from_settings(settings),
            breaker=breaker,
            on_request=on_request,
            on_retry=on_retry,
            token_source=target.token_source,
        )

    # -- life cycle and state -----------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        return str(self._base)

    @property
    def request_count(self) -> int:
        """Requests sent so far: retries and pages included, connect failures and calls
        refused by the open circuit not (they never reached the API)."""
        return self._request_count

    @property
    def circuit_state(self) -> CircuitState:
        return self._breaker.state

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    @property
    def last_clock_skew_s(self) -> float | None:
        """Remote minus local clock from the latest `Date` header; None before any."""
        return self._last_skew_s

    @property
    def retry_budget(self) -> resilience.RetryBudget:
        return self._budget

    def reset_run_budget(self) -> None:
        """Starts a new run's retry budget."""
        self._budget = resilience.RetryBudget(total_s=self._policy.budget_s)

    def __repr__(self) -> str:
        return (
            f"ExternalClient(base_url={self.base_url!r}, circuit={self.circuit_state!r}, "
            f"requests={self._request_count})"
        )

    # -- the API ------------------------------------------------------------------------------

    async def pull(self) -> PullResult:
        """`GET /todolists`, following `Link: rel="next"` pages.

        A failing first page raises; a failing later page ends the pull with `complete=False`
        (an `AuthenticationError` still raises). Skew and date come from the first page.
        """
        call = Call(method="GET", url=transport.join_path(self._base, "todolists"))
        first = await self._send(call)
        seen: set[str] = set()
        digest = hashlib.sha256()
        lists, invalid = await _decoded_page(call, first.response.content, seen, digest)
        result = PullResult(
            lists=lists,
            invalid=invalid,
            complete=True,
            server_date=first.server_date,
            clock_skew_s=first.skew_s or 0.0,
            pages=1,
        )
        await self._follow_pages(first.response, result=result, seen=seen, digest=digest)
        result.body_digest = digest.hexdigest()
        return result

    async def create_list(self, new: NewList) -> RemoteList:
        """`POST /todolists` with the items; retried only when it cannot have been applied."""
        url = transport.join_path(self._base, "todolists")
        call = Call(method="POST", url=url, body=msgspec.json.encode(new))
        answer = await self._send(call)
        return _decoded(call, decode.one_list, answer.response.content)

    async def update_list(self, list_id: str, *, name: str) -> RemoteList:
        url = transport.join_path(self._base, "todolists", list_id)
        call = Call(method="PATCH", url=url, body=msgspec.json.encode({"name": name}))
        answer = await self._send(call)
        return _decoded(call, decode.one_list, answer.response.content, items_matter=False)

    async def delete_list(self, list_id: str) -> None:
        """Deletes a list with its items; `NotFound` when it is already gone."""
        url = transport.join_path(self._base, "todolists", list_id)
        await self._send(Call(method="DELETE", url=url))

    async def update_item(
        self,
        list_id: str,
        item_id: str,
        *,
        description: str | None = None,
        completed: bool | None = None,
    ) -> RemoteItem:
        """Sends only the fields given (at least one)."""
        fields: dict[str, Any] = {"description": description, "completed": completed}
        body = {name: value for name, value in fields.items() if value is not None}
        if not body:
            raise ValueError("update_item needs a description or completed")
        url = transport.join_path(self._base, "todolists", list_id, "todoitems", item_id)
        call = Call(method="PATCH", url=url, body=msgspec.json.encode(body))
        answer = await self._send(call)
        return _decoded(call, decode.one_item, answer.response.content, list_id=list_id)

    async def delete_item(self, list_id: str, item_id: str) -> None:
        url = transport.join_path(self._base, "todolists", list_id, "todoitems", item_id)
        await self._send(Call(method="DELETE", url=url))

    async def create_item(self, list_id: str, new: NewItem) -> RemoteItem:
        """The optional `POST /todolists/{id}/todoitems` extension: `NotSupported` on
        404/405/501 (so a missing list also reads as "not supported")."""
        url = transport.join_path(self._base, "todolists", list_id, "todoitems")
        body = msgspec.json.encode(new)
        call = Call(method="POST", url=url, body=body, unsupported=_UNSUPPORTED)
        answer = await self._send(call)
        return _decoded(call, decode.one_item, answer.response.content, list_id=list_id)

    # -- plumbing -----------------------------------------------------------------------------

    async def _send(self, call: Call) -> _Answer:
        """One logical call: through the breaker, with retries."""

        async def with_retries(probe: bool) -> _Answer:
            control = resilience.RetryControl(
                policy=self._policy,
                budget=self._budget,
                method=call.method,
                path=call.url.path,
                host=self._host,
                # A probe is one request; nor is an open circuit (opened meanwhile) retried into.
                may_retry=lambda: not probe and self._breaker.state == "closed",
                on_retry=self._on_retry,
            )
            return await resilience.retrying(lambda: self._attempt(call), control=control)

        return await self._breaker.call(with_retries)

    async def _attempt(self, call: Call) -> _Answer:
        """One HTTP request; raises the error its outcome means."""
        started_at = self._now()
        started = time.perf_counter()
        headers = {"Content-Type": "application/json"} if call.body is not None else None
        try:
            response = await self._http.request(
                call.method, call.url, content=call.body, headers=headers, auth=self._auth
            )
        except httpx.RequestError as exc:
            sent = not isinstance(exc, transport.CONNECT_PHASE)
            self._record(call, status=None, duration_s=time.perf_counter() - started, sent=sent)
            raise transport.error_for_transport(call, exc) from exc
        duration_s = time.perf_counter() - started
        self._record(call, status=response.status_code, duration_s=duration_s, sent=True)
        answer = self._dated(response, started_at=started_at, duration_s=duration_s)
        retry_after_s = resilience.parse_retry_after(
            response.headers.get("retry-after"), server_date=answer.server_date, now=self._now()
        )
        error = transport.error_for_response(
            call, response, hint=self._hint, retry_after_s=retry_after_s
        )
        if error is not None:
            raise error
        return answer

    def _record(self, call: Call, *, status: int | None, duration_s: float, sent: bool) -> None:
        if sent:
            self._request_count += 1
        log.debug("%s -> %s in %.3f s", call.label, status, duration_s)
        if self._on_request is None:
            return
        try:
            self._on_request(call.method, status, duration_s)
        except Exception:
            # Metrics must never break a sync.
            log.warning("the on_request hook failed", exc_info=True)

    def _dated(
        self, response: httpx.Response, *, started_at: datetime, duration_s: float
    ) -> _Answer:
        """The answer with its `Date` and the clock skew it shows (kept as the latest)."""
        server_date = transport.parse_date(response.headers.get("date"))
        if server_date is None:
            return _Answer(response, None, None)
        # Compare with the middle of the exchange; `Date` has whole seconds, cut off, so
        # adding half a second makes the estimate unbiased. It is good to ±0.5 s plus half the
        # exchange: a skew within that is no skew that can be told (reported as 0).
        local = started_at + timedelta(seconds=duration_s / 2)
        estimate_s = (server_date - local).total_seconds() + 0.5
        resolution_s = SKEW_RESOLUTION_S + duration_s / 2
        skew_s = 0.0 if abs(estimate_s) <= resolution_s else round(estimate_s, 3)
        self._last_skew_s = skew_s
        return _Answer(response, server_date, skew_s)

    async def _follow_pages(
        self,
        response: httpx.Response,
        *,
        result: PullResult,
        seen: set[str],
        digest: hashlib._Hash,
    ) -> None:
        """Reads the `next` pages into `result`; any failure ends it as incomplete."""
        visited = {str(response.url)}
        while (link := _next_link(response)) is not None:
            try:
                self._check_link(link, visited=visited, pages=result.pages)
                call = Call(method="GET", url=link)
                response = (await self._send(call)).response
                lists, invalid = await _decoded_page(call, response.content, seen, digest)
            except errors.AuthenticationError:
                raise
            except errors.ExternalError as exc:
                log.warning("pull incomplete after %d pages: %s", result.pages, exc)
                result.complete = False
                return
            visited.add(str(link))
            result.lists.extend(lists)
            result.invalid.extend(invalid)
            result.pages += 1

    def _check_link(self, link: httpx.URL, *, visited: set[str], pages: int) -> None:
        base = self._base
        if (link.scheme, link.host, link.port) != (base.scheme, base.host, base.port):
            # The token must not travel to another origin.
            raise errors.InvalidResponse("the next-page link leaves the API's origin")
        if str(link) in visited:
            raise errors.InvalidResponse("the next-page link repeats an earlier page")
        if pages >= self._max_pages:
            raise errors.InvalidResponse(f"more than {self._max_pages} pages")


def _next_link(response: httpx.Response) -> httpx.URL | None:
    """The absolute URL of the `Link: <...>; rel="next"` target, if any."""
    for link in response.links.values():
        if "next" in link.get("rel", "").split() and link.get("url"):
            return response.url.join(link["url"])
    return None


async def _decoded_page(
    call: Call, body: bytes, seen: set[str], digest: hashlib._Hash
) -> tuple[list[RemoteList], list[InvalidEntity]]:
    """One page of the pull, decoded, and added to the pull's digest. The hash runs in a
    thread (hashlib lets go of the GIL for large inputs) while the page decodes here."""
    loop = asyncio.get_running_loop()
    hashing = loop.run_in_executor(None, _add_page, digest, body)
    try:
        return _decoded(call, decode.pull_page, body, seen=seen)
    finally:
        await hashing


def _add_page(digest: hashlib._Hash, body: bytes) -> None:
    # length-prefixed, so that no two different splits into pages hash alike
    digest.update(len(body).to_bytes(8, "big"))
    digest.update(body)


def _decoded(call: Call, decoder: Callable[..., R], body: bytes, **kwargs: Any) -> R:
    """`decoder(body, **kwargs)`, with the call named in an `InvalidResponse`."""
    try:
        return decoder(body, **kwargs)
    except errors.InvalidResponse as exc:
        raise errors.InvalidResponse(f"{call.label}: {exc.message}") from None
