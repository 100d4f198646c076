"""Making and hashing API tokens (pure functions, no database)."""

from __future__ import annotations

import hashlib
import secrets

__all__ = [
    "MAX_TOKEN_LENGTH",
    "SHOWN_PREFIX_LENGTH",
    "TOKEN_PREFIX",
    "generate_token",
    "hash_token",
    "looks_like_token",
    "shown_prefix",
]

TOKEN_PREFIX = "tds_"  # noqa: S105 (a public prefix that makes tokens recognisable)
_TOKEN_BYTES = 32
# Tokens are 47 characters; anything much longer is no token and is not worth hashing.
MAX_TOKEN_LENGTH = 200
# `tds_` and 8 random characters (48 bits of the 256): names a token, cannot stand for it.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


def generate_token() -> str:
    """A new random token: the prefix and 256 bits of URL-safe randomness."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The token's SHA-256 as 64 hex digits: what the database stores and looks up.

    A fast hash is enough (no salt, no key stretching) because tokens carry 256 random bits.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def shown_prefix(token: str) -> str:
    """The part of a token that may be shown and stored in the clear, to name it."""
    return token[:SHOWN_PREFIX_LENGTH]


def looks_like_token(text: str) -> bool:
    """Whether `text` is (probably) a whole token rather than its id or shown prefix."""
    return text.startswith(TOKEN_PREFIX) and len(text) > SHOWN_PREFIX_LENGTH
