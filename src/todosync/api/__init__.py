"""The local REST API (FastAPI): `app.create_app(settings)` builds it.

Routes only translate HTTP into calls of `todosync.store.service` (and `todosync.auth.service`);
`deps` owns the transaction of each request; `problems` renders every error as RFC 9457.
"""
