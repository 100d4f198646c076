"""Each query or mutation owns one transaction, as a REST request does (`api.deps`): a query
reads in a read-only session, a mutation writes in a writing one after the app's write gate,
and it commits when the operation has run without errors, before the response goes out. An
operation with any error rolls back as a whole, so a mutation never half-happens.
Subscriptions open no session here: they read the event bus, not the database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from todosync.graphql.context import Context

__all__ = ["Transaction"]


class Transaction(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        operation = self.execution_context.operation_type
        if not isinstance(context, Context) or operation == OperationType.SUBSCRIPTION:
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
            else:
                await session.commit()
