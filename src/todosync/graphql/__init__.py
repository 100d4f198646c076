"""`/graphql`: GraphQL over HTTP (POST and GET) and WebSocket (`graphql-transport-ws`), beside
the REST API and over the same services (`store.service`, `sync.service`), auth, sessions and
tenant scoping (`api.deps`). No rule lives here: resolvers translate GraphQL to service calls,
as REST routes translate HTTP.

    schema.SCHEMA                 the strawberry schema (types, queries, mutations, subscriptions)
    router.create(settings)      the FastAPI router that `app.create_app` mounts at /graphql
    context.Context              per request: the services, the session, the token's tenant
    transaction.Transaction      the operation owns its transaction, like a REST request
    errors.ErrorCodes            `extensions.code` from our error classes, never internals

Errors carry `extensions.code`: NOT_FOUND, VALIDATION, CONFLICT, UNAUTHENTICATED, FORBIDDEN
(an admin token: it reads no tenant's data, as on REST where it gets 403), THROTTLED, and
INTERNAL (message masked).
"""
