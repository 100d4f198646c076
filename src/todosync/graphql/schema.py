"""The schema and its guards: depth, token and alias limits refuse an expensive document
before it runs (errors with code VALIDATION); `first` is capped at REST's page limit, so the
largest answer is bounded too (`MAX_DEPTH` levels of at most 200 rows each).
`print_sdl()` is what `todosync graphql-schema` writes to `docs/schema.graphql`."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from todosync.graphql.errors import ErrorCodes
from todosync.graphql.mutation import Mutation
from todosync.graphql.query import Query
from todosync.graphql.subscription import Subscription
from todosync.graphql.transaction import Transaction

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "SCHEMA", "print_sdl"]

# lists > edges > node > items > edges > node > field is depth 6 (the root's fields are 0);
# one more for `node { list { id } }`, an item's own list; going round again is refused
MAX_DEPTH = 7
MAX_TOKENS = 2_000
MAX_ALIASES = 20


class _Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Logs nothing: expected errors are answers, and `ErrorCodes` logs unexpected ones
        (strawberry's default logs every error with its stack trace)."""


SCHEMA = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        ErrorCodes,  # first: it sees (and codes) the errors of every other extension
        # factories: one fresh extension per operation
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        Transaction,
    ],
)


def print_sdl() -> str:
    """The schema in GraphQL SDL, ending with a newline."""
    return SCHEMA.as_str().rstrip("\n") + "\n"
