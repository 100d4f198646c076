"""HTTP plumbing of the external client: the base URL rule, the bearer token, timeouts, paths,
and the mapping of answers and transport errors onto the error tree.

The token lives in a `SecretStr` until `BearerAuth` writes it into the `Authorization` header
of each request: never in a URL (which httpx logs), an argument list (which stamina logs) or a
repr. Redirects are not followed, so the token never travels to another address.
"""

from __future__ import annotations

import email.utils
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from todosync.config import SettingsError, is_loopback_host
from todosync.external import errors

if TYPE_CHECKING:
    from collections.abc import Generator

    from todosync.config import Settings

__all__ = [
    "CONNECT_PHASE",
    "TOKEN_SETTING",
    "URL_SETTING",
    "BearerAuth",
    "Call",
    "auth_hint",
    "build_http",
    "check_base_url",
    "error_for_response",
    "error_for_transport",
    "join_path",
    "parse_date",
    "quiet_http_loggers",
]

TOKEN_SETTING = "TODOSYNC_EXTERNAL_API_TOKEN"  # noqa: S105 -- the variable's name, not a token
URL_SETTING = "TODOSYNC_EXTERNAL_API_URL"

CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures that prove the request was never sent: safe to retry even for a POST."""


class BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer <token>` to each request; its repr hides the token."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token='**********')"


@dataclass(frozen=True, kw_only=True)
class Call:
    """One logical request: what to send, and how to name it in messages and logs."""

    method: str
    url: httpx.URL
    body: bytes | None = None
    unsupported: frozenset[int] = field(default_factory=frozenset)
    """Statuses that mean "this endpoint does not exist" (the optional extension)."""

    @property
    def idempotent(self) -> bool:
        # PATCH sets fields to values and DELETE removes: repeating either changes nothing more.
        return self.method != "POST"

    @property
    def label(self) -> str:
        """`METHOD /path` (ids only; the query is left out) for messages."""
        return f"{self.method} {self.url.path}"


def check_base_url(
    url: str, *, url_source: str = URL_SETTING, token_source: str = TOKEN_SETTING
) -> httpx.URL:
    """The API's base URL, ending in `/`; https unless the host is loopback, no credentials.
    Errors name `url_source`, where the URL was set (a setting, a command's option).

    `Settings` checks this already; the client checks again because it may be built directly.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise SettingsError(f"{url_source}: not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SettingsError(f"{url_source}: must be an http(s) URL")
    if parsed.scheme == "http" and not is_loopback_host(parsed.host):
        raise SettingsError(f"{url_source}: must use https:// unless the host is loopback")
    if parsed.userinfo:
        raise SettingsError(f"{url_source}: must not carry credentials; use {token_source}")
    path = parsed.path if parsed.path.endswith("/") else f"{parsed.path}/"
    return parsed.copy_with(path=path, query=None, fragment=None)


def join_path(base: httpx.URL, *segments: str) -> httpx.URL:
    """`base` plus the segments, each percent-encoded whole: an id may be any string."""
    return base.join("/".join(_segment(segment) for segment in segments))


def _segment(value: str) -> str:
    # "." and ".." would be resolved away as dot-segments; encoded, they stay ids.
    if value and set(value) <= {"."}:
        return value.replace(".", "%2E")
    return quote(value, safe="")


def build_http(settings: Settings) -> httpx.AsyncClient:
    """The httpx client with explicit timeouts from the settings."""
    timeout = httpx.Timeout(
        connect=settings.external_connect_timeout_seconds,
        read=settings.external_read_timeout_seconds,
        write=settings.external_write_timeout_seconds,
        pool=settings.external_pool_timeout_seconds,
    )
    headers = {"Accept": "application/json", "User-Agent": "todosync"}
    return httpx.AsyncClient(timeout=timeout, headers=headers, follow_redirects=False)


def quiet_http_loggers() -> None:
    """httpx logs every request at INFO: raise it (and httpcore) to WARNING unless set."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def auth_hint(*, host: str, has_token: bool, token_source: str = TOKEN_SETTING) -> str:
    """What to do about a 401/403, naming where the token is set and the host, never the
    token."""
    if not has_token:
        also = f" (or {TOKEN_SETTING}_FILE)" if token_source == TOKEN_SETTING else ""
        return f"no token is set for {host}: set {token_source}{also}"
    return f"{host} refused the token: check {token_source}"


def error_for_response(
    call: Call, response: httpx.Response, *, hint: str, retry_after_s: float | None
) -> errors.ExternalError | None:
    """The error a non-2xx answer means, or None for a success. Never reads the body."""
    status = response.status_code
    label = call.label
    if status < 300:
        return None
    if status in call.unsupported:
        return errors.NotSupported(
            f"{label}: the endpoint is not offered (HTTP {status})", status=status
        )
    if status in (401, 403):
        return errors.AuthenticationError(f"{label}: HTTP {status}: {hint}", status=status)
    if status == 429:
        # A refusal: nothing was applied, so even a POST may be sent again.
        return errors.TransientError(
            f"{label}: rate limited (HTTP 429)", status=status, retry_after_s=retry_after_s
        )
    if status >= 500 and not call.idempotent:
        return errors.AmbiguousWrite(
            f"{label}: HTTP {status}; it may have been applied", status=status
        )
    if status >= 500:
        return errors.TransientError(
            f"{label}: HTTP {status}", status=status, retry_after_s=retry_after_s
        )
    if status == 404:
        return errors.NotFound(f"{label}: not found (HTTP 404)", status=status)
    return errors.PermanentError(f"{label}: refused (HTTP {status})", status=status)


def error_for_transport(call: Call, exc: httpx.RequestError) -> errors.ExternalError:
    """The error a failed exchange means; only its class name is kept, not its text."""
    name = type(exc).__name__
    if isinstance(exc, CONNECT_PHASE):
        return errors.Unreachable(f"{call.label}: cannot reach the external API ({name})")
    if not call.idempotent:
        return errors.AmbiguousWrite(
            f"{call.label}: {name} after sending; it may have been applied"
        )
    return errors.TransientError(f"{call.label}: {name}")


def parse_date(value: str | None) -> datetime | None:
    """An HTTP-date header (e.g. `Date`) as an aware datetime, or None."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
