"""`Target`: where one connection's external API is and the token it is signed in with."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from todosync.config import Settings
from todosync.external import transport

__all__ = ["Target"]


@dataclass(frozen=True, slots=True)
class Target:
    """The URL and token of one external API account, and where an operator sets them (what
    an error about a bad URL or a refused token names; never the token)."""

    url: str
    token: SecretStr | None
    url_source: str = transport.URL_SETTING
    token_source: str = transport.TOKEN_SETTING

    def __repr__(self) -> str:
        return f"Target(url={self.url!r}, token={'set' if self.token else None})"

    @classmethod
    def from_settings(cls, settings: Settings) -> Target:
        """The default connection's: TODOSYNC_EXTERNAL_API_URL and _TOKEN."""
        return cls(url=settings.external_api_url, token=settings.external_api_token)
