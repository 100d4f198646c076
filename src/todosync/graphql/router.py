"""The `/graphql` route: strawberry's FastAPI router over `schema.SCHEMA`, with our context.
GraphiQL is served only with `TODOSYNC_GRAPHIQL=true`; WebSockets speak `graphql-transport-ws`
only (the older `graphql-ws` protocol has no standard way to refuse a connection)."""

from __future__ import annotations

from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from todosync.config import Settings
from todosync.graphql import context, schema, websocket

__all__ = ["PATH", "create"]

PATH = "/graphql"


class _Router(GraphQLRouter[context.Context, None]):
    graphql_transport_ws_handler_class = websocket.TransportWSHandler


def create(settings: Settings) -> GraphQLRouter[context.Context, None]:
    """The router that `app.create_app` includes."""
    return _Router(
        schema.SCHEMA,
        path=PATH,
        graphql_ide="graphiql" if settings.graphiql else None,
        context_getter=context.get_context,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        include_in_schema=False,
    )
