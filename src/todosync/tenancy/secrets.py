"""External API tokens at rest: encrypted with the keys of `TODOSYNC_SECRET_KEY`.

The setting holds one or more Fernet keys, comma-separated, newest first: the first encrypts,
every one decrypts (`cryptography`'s MultiFernet). Rotation is: put a new key first, run
`todosync secrets rotate` (every stored token is encrypted again with it), then drop the old
key. A ciphertext carries its own time stamp and MAC; a token is never logged or shown.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from todosync.config import Settings
from todosync.errors import TodosyncError

__all__ = ["KEY_SETTING", "NoSecretKey", "SecretBox", "UnreadableSecret", "new_key"]

KEY_SETTING = "TODOSYNC_SECRET_KEY"


class NoSecretKey(TodosyncError):
    """No key is set, so no token can be stored or read."""


class UnreadableSecret(TodosyncError):
    """A stored token cannot be decrypted with any of the keys set."""


def new_key() -> str:
    """A fresh random key, in the form the setting takes."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts tokens with the settings' keys (see the module docstring)."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box of `TODOSYNC_SECRET_KEY`; `NoSecretKey` when it is not set."""
        if settings.secret_key is None:
            raise NoSecretKey(
                f"{KEY_SETTING} is not set: external API tokens are kept encrypted; make a key "
                "with `todosync secrets new-key` and set it (or TODOSYNC_SECRET_KEY_FILE)"
            )
        raw = settings.secret_key.get_secret_value()
        return cls([key.strip() for key in raw.split(",") if key.strip()])

    def encrypt(self, token: SecretStr) -> str:
        return self._fernet.encrypt(token.get_secret_value().encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8"))
        except InvalidToken:
            raise UnreadableSecret(
                f"a stored external API token cannot be decrypted with the keys in {KEY_SETTING}"
                " (was the key that encrypted it removed?)"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """The same token encrypted with the first key (`UnreadableSecret` as `decrypt`)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise UnreadableSecret(
                f"a stored external API token cannot be decrypted with the keys in {KEY_SETTING}"
            ) from None
