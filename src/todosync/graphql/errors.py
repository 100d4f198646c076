"""`extensions.code` on every error, from our error classes (`todosync.errors`); anything
unexpected is masked as INTERNAL, so no internals (SQL, paths, stack traces) reach a client."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from todosync import errors

__all__ = ["CODES", "ErrorCodes", "coded"]

log = logging.getLogger(__name__)

CODES: tuple[tuple[type[Exception], str], ...] = (
    (errors.NotFoundError, "NOT_FOUND"),
    (errors.ValidationFailed, "VALIDATION"),
    (errors.ConflictError, "CONFLICT"),
    (errors.AuthenticationFailed, "UNAUTHENTICATED"),
    (errors.Forbidden, "FORBIDDEN"),
    (errors.Throttled, "THROTTLED"),
)
_INTERNAL = "Internal error; the server log has the details."


class ErrorCodes(SchemaExtension):
    """Rewrites the operation's errors: ours keep their message and get their code; errors of
    the GraphQL document itself (syntax, unknown fields, wrong types, limits) are VALIDATION."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(error) for error in result.errors]


def coded(error: GraphQLError) -> GraphQLError:
    """`error` with its `extensions.code`, and a fixed message when it is unexpected."""
    original = error.original_error
    message, code = error.message, "VALIDATION"
    if original is not None and not isinstance(original, GraphQLError):
        code = next((c for cls, c in CODES if isinstance(original, cls)), "INTERNAL")
        if code == "INTERNAL":
            log.error("graphql: unexpected %s", type(original).__name__, exc_info=original)
            message = _INTERNAL
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )
