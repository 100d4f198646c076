"""Errors of the external API client, one class per remedy.

    TodosyncError                          (todosync.errors)
    └── ExternalError                      anything that went wrong talking to the external API
        ├── TransientError                 network error, timeout, 5xx or 429, after the retries
        │   │                              (or the run's retry budget) ran out: try again later
        │   └── Unreachable                the API could not be reached at all (connect phase)
        ├── PermanentError                 another 4xx (`status`): retrying will not help
        │   ├── NotFound                   404: the entity is gone (a delete counts it as done)
        │   ├── NotSupported               the optional item-create extension does not exist
        │   └── AuthenticationError        401/403: fix TODOSYNC_EXTERNAL_API_TOKEN; never retried
        ├── CircuitOpen                    the breaker is open: the call was not made
        ├── AmbiguousWrite                 a POST that may have been applied (5xx, timeout or
        │                                  dropped connection after sending): never retried; the
        │                                  next pull settles it through `source_id`
        └── InvalidResponse                a 2xx answer whose body does not decode

Callers branch on the class, never on the message. Messages name the method, the path (ids
only) and the status; never a token, a list name or an item text.
"""

from __future__ import annotations

from todosync.errors import TodosyncError

__all__ = [
    "AmbiguousWrite",
    "AuthenticationError",
    "CircuitOpen",
    "ExternalError",
    "InvalidResponse",
    "NotFound",
    "NotSupported",
    "PermanentError",
    "TransientError",
    "Unreachable",
]


class ExternalError(TodosyncError):
    """Base class of the external client's errors.

    `attempts` is how many requests the call made (0 when none was made);
    `budget_exhausted` says that the run's retry budget cut the retries short.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.attempts = 0
        self.budget_exhausted = False

    def __str__(self) -> str:
        notes = []
        if self.attempts > 1:
            notes.append(f"after {self.attempts} attempts")
        if self.budget_exhausted:
            notes.append("the run's retry budget is spent")
        return f"{self.message} ({'; '.join(notes)})" if notes else self.message


class TransientError(ExternalError):
    """A failure that may pass: network error, timeout, 5xx or 429.

    While retrying it carries the server's `Retry-After` wait, if it sent one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after_s = retry_after_s


class Unreachable(TransientError):
    """The request never reached the API: connection refused, DNS, connect or pool timeout."""


class PermanentError(ExternalError):
    """The API refused the request with a 4xx (other than 429); the same request will fail again."""


class NotFound(PermanentError):
    """404: the list or item does not exist (any more)."""


class NotSupported(PermanentError):
    """The optional `POST /todolists/{id}/todoitems` extension is not offered (404/405/501)."""


class AuthenticationError(PermanentError):
    """401/403: the token is missing, wrong or lacks rights. Fix the setting; never retried."""


class CircuitOpen(ExternalError):
    """The circuit breaker is open (or its one probe is in flight): no request was made."""


class AmbiguousWrite(ExternalError):
    """A non-idempotent write may or may not have been applied; retrying could duplicate it."""


class InvalidResponse(ExternalError):
    """A success answer whose body is not what the contract promises."""
