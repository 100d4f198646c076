"""The token cache: live tokens remembered for a TTL, nothing else, and bounded."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from todosync.auth import service
from todosync.auth.cache import TokenCache
from todosync.auth.principal import Principal
from todosync.errors import AuthenticationFailed


class _Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_remembers_for_the_ttl_only() -> None:
    """An entry is found until `ttl_s` has passed since it was stored, then forgotten."""
    clock = _Clock()
    cache = TokenCache[int](ttl_s=5, clock=clock)
    cache.put("h", 7)
    clock.now += 4.9
    assert cache.get("h") == 7
    clock.now += 0.1
    assert cache.get("h") is None
    assert len(cache) == 0


def test_zero_ttl_remembers_nothing() -> None:
    """`ttl_s=0` turns the cache off."""
    cache = TokenCache[int](ttl_s=0)
    cache.put("h", 7)
    assert cache.get("h") is None


def test_size_is_bounded() -> None:
    """A full cache drops expired entries first, then the oldest live ones."""
    clock = _Clock()
    cache = TokenCache[int](ttl_s=10, max_entries=3, clock=clock)
    cache.put("old", 1)
    clock.now += 11
    cache.put("a", 2)
    cache.put("b", 3)
    cache.put("c", 4)  # full: "old" has expired and goes
    assert (cache.get("old"), cache.get("a"), len(cache)) == (None, 2, 3)
    cache.put("d", 5)  # full of live entries: the oldest ("a") goes
    assert (cache.get("a"), cache.get("b"), cache.get("d"), len(cache)) == (None, 3, 5, 3)


def test_rejects_nonsense_limits() -> None:
    """A negative TTL or an empty capacity is a programming error."""
    with pytest.raises(ValueError, match="ttl_s"):
        TokenCache[int](ttl_s=-1)
    with pytest.raises(ValueError, match="max_entries"):
        TokenCache[int](max_entries=0)


async def test_authenticate_uses_the_cache_until_the_ttl(session: AsyncSession) -> None:
    """A revoked token still authenticates from the cache within the TTL, and not after."""
    clock = _Clock()
    cache = TokenCache[Principal](ttl_s=5, clock=clock)
    token = await service.create_token(session)
    principal = await service.authenticate(session, token=token, cache=cache)
    await service.revoke_token(session, token=token)
    assert await service.authenticate(session, token=token, cache=cache) == principal
    clock.now += 5
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(session, token=token, cache=cache)
    await session.rollback()


async def test_authenticate_does_not_cache_refusals(session: AsyncSession) -> None:
    """A refused token is not remembered: the cache holds live tokens only."""
    cache = TokenCache[Principal](ttl_s=5)
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(session, token="tds_unknown", cache=cache)
    assert len(cache) == 0
