"""Each query or mutation owns one transaction, as a REST request does (`api.deps`): a query
reads in a read-only session, a mutation writes in a writing one after the app's write gate,
and it commits when the operation has run without errors, before the response goes out. An
operation with any error rolls back as a whole, so a mutation never half-happens.

Subscriptions open no session: they read the event bus, not the database. Over a WebSocket
only subscriptions run: its operations share one context (one connection), which a
transaction per operation cannot, so queries and mutations are refused there (use HTTP)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from todosync.graphql.context import Context

__all__ = ["Transaction"]

log = logging.getLogger(__name__)

_HTTP_ONLY = "Over a WebSocket only subscriptions run; send queries and mutations over HTTP."
_NOT_COMMITTED = "Internal error: nothing was saved; the server log has the details."


class Transaction(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        operation = self.execution_context.operation_type
        if not isinstance(context, Context) or operation == OperationType.SUBSCRIPTION:
            yield
            return
        if context.connection_params is not None:
            # a result set here is the answer: strawberry then runs nothing
            refused = GraphQLError(_HTTP_ONLY, extensions={"code": "VALIDATION"})
            self.execution_context.result = ExecutionResult(None, [refused])
            yield
            return
        services = context.services
        if operation == OperationType.MUTATION:
            sessionmaker, gate = services.sessionmaker, services.write_gate
        else:
            sessionmaker, gate = services.read_sessionmaker, contextlib.nullcontext()
        async with gate, sessionmaker() as session:
            context.session = session
            try:
                yield
            except BaseException:
                await session.rollback()
                raise
            finally:
                context.session = None
            result = self.execution_context.result
            if result is not None and result.errors:
                await session.rollback()
                if context.background_tasks is not None:
                    # what was to follow the commit (wake the dispatcher, publish an event)
                    context.background_tasks.tasks.clear()
                return
            try:
                await session.commit()
            except Exception:
                # raised here it would reach the client as it is (SQL included)
                log.exception("graphql: the operation's commit failed")
                raise GraphQLError(_NOT_COMMITTED, extensions={"code": "INTERNAL"}) from None
