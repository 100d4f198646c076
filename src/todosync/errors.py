"""The root of todosync's own exceptions.

    TodosyncError
    ├── SettingsError            (todosync.config)     bad configuration, exit 1
    ├── AuthenticationFailed     a missing, unknown or revoked API token (401)
    ├── Forbidden                a live token that may not do this: an admin token on a
    │                            tenant's data, a tenant's token on `/api/admin` (403)
    ├── Throttled                too many failed token checks from one address (429)
    ├── NotFoundError            an entity is unknown, deleted, or another tenant's
    ├── ConflictError            a state change that is not allowed now (409)
    └── ValidationFailed         input that the domain refuses (422)

The external client draws its own tree under `todosync.external.errors.ExternalError`.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ConflictError",
    "Forbidden",
    "NotFoundError",
    "Throttled",
    "TodosyncError",
    "ValidationFailed",
]


class TodosyncError(Exception):
    """Base class of every error todosync raises on purpose."""


class AuthenticationFailed(TodosyncError):
    """The request carries no valid API token."""


class Forbidden(TodosyncError):
    """The token is live but may not do this (never used to hide another tenant's ids: those
    are `NotFoundError`, like unknown ones)."""


class Throttled(TodosyncError):
    """Too many failed token checks from the client's address; try again in `retry_after_s`."""

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(
            f"Too many failed token checks from this address; retry in {retry_after_s} s."
        )
        self.retry_after_s = retry_after_s


class NotFoundError(TodosyncError):
    """The entity does not exist for this tenant (or was deleted)."""


class ConflictError(TodosyncError):
    """The request conflicts with the entity's current state."""


class ValidationFailed(TodosyncError):
    """The input is well-formed but refused by a domain rule."""
