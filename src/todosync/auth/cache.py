"""An in-process memory of recently checked tokens: token hash -> principal, for `ttl_s`.

Every API request authenticates; the cache saves the database look-up for a token seen in the
last few seconds. The price: a token revoked in the database (`todosync tokens revoke`) keeps
working in a process that checked it within the last `ttl_s` seconds, for at most `ttl_s`
seconds more. Only live tokens are remembered (an unknown or revoked one is looked up every
time, so a new token works at once), and the cache holds at most `max_entries` of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["DEFAULT_MAX_ENTRIES", "DEFAULT_TTL_S", "TokenCache"]

DEFAULT_TTL_S = 5.0
DEFAULT_MAX_ENTRIES = 10_000

V = TypeVar("V")


class TokenCache(Generic[V]):
    """What live tokens stand for (`auth.principal.Principal` in the app), by token hash,
    each kept `ttl_s` seconds after its look-up; `ttl_s=0` keeps nothing."""

    def __init__(
        self,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError("ttl_s must be >= 0 and max_entries >= 1")
        self.ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[V, float]] = {}  # hash -> (value, expiry)

    def get(self, token_hash: str) -> V | None:
        """The remembered value, or None when unknown or expired."""
        found = self._entries.get(token_hash)
        if found is None:
            return None
        value, expires_at = found
        if self._clock() >= expires_at:
            del self._entries[token_hash]
            return None
        return value

    def put(self, token_hash: str, value: V) -> None:
        """Remembers a token that the database just found live."""
        if self.ttl_s == 0:
            return
        now = self._clock()
        if len(self._entries) >= self._max_entries:
            self._evict(now)
        self._entries[token_hash] = (value, now + self.ttl_s)

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: float) -> None:
        # The expired ones first; if all are live, the oldest (dicts keep insertion order).
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
