"""The framework + database floor of the local API: a minimal Starlette app (no FastAPI, no
pydantic, no ORM) whose two routes run the SQL statements that `todosync serve` runs for the
same requests, through the same engine (`todosync.db.engine.create_engine`: the same async
driver, pool, SQLite pragmas and `BEGIN IMMEDIATE`; on PostgreSQL `BEGIN READ ONLY` for the
GET, as serve's read sessions), and answer with the same bytes (status, content type, body).

- `GET /api/todolists/{id}/items?limit=N`: in one read-only transaction, the token lookup
  (only when the token is not among those looked up in the last `TOKEN_CACHE_S`, as serve's
  token cache) and the page query; the page as serve renders it.
- `PATCH /api/todolists/{id}/items/{item}` with `{"completed": bool}`: in one write
  transaction (behind one lock per process on SQLite, as serve's write gate), the token row
  (for the event's actor), the item (`FOR UPDATE` on PostgreSQL), and when the value changes
  the UPDATE and the history event (an INSERT on SQLite, a one-row COPY on PostgreSQL, as
  `todosync.db.bulk_insert`); the item as serve renders it.

The statements are serve's as captured from its engine (SQLAlchemy 2 compiled text, per
dialect). `benchmarks/api_load.py` checks that both answer with the same bytes.

`python -m benchmarks.floor_db_app PORT DATABASE_URL [WORKERS]`
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from todosync.db import engine as db_engine
from todosync.db import sessions

__all__ = ["SQL", "create"]

TOKEN_CACHE_S = 5.0  # serve's default TODOSYNC_TOKEN_CACHE_SECONDS
_ENV_URL = "TODOSYNC_FLOOR_DATABASE_URL"

_PAGE_COLUMNS = (
    "todo_items.id, todo_items.list_id, todo_items.description, todo_items.completed, "
    "todo_items.created_at, todo_items.updated_at"
)
_ITEM_COLUMNS = (
    "todo_items.id, todo_items.uid, todo_items.tenant_id, todo_items.list_id, "
    "todo_items.description, todo_items.completed, todo_items.version, todo_items.created_at, "
    "todo_items.updated_at, todo_items.deleted_at"
)
_AUTH_COLUMNS = (
    "api_tokens.id, api_tokens.tenant_id, api_tokens.admin, api_tokens.token_hash, "
    "api_tokens.prefix, api_tokens.created_at, api_tokens.revoked_at"
)
_EVENT_COLUMNS = (
    "tenant_id, kind, entity_id, list_id, operation, before, after, actor_kind, actor_id, "
    "valid_at, recorded_at"
)

SQL: dict[str, dict[str, str]] = {
    "sqlite": {
        "tenant_of_token": "SELECT api_tokens.tenant_id \nFROM api_tokens LEFT OUTER JOIN "
        "tenants ON tenants.id = api_tokens.tenant_id \nWHERE api_tokens.token_hash = ? AND "
        "api_tokens.revoked_at IS NULL AND (api_tokens.admin IS 1 OR tenants.disabled_at IS "
        "NULL)",
        "items_page": f"SELECT {_PAGE_COLUMNS} \nFROM todo_items \nWHERE todo_items.list_id = "
        "? AND todo_items.tenant_id = ? AND todo_items.deleted_at IS NULL AND (EXISTS (SELECT "
        "* \nFROM todo_lists \nWHERE todo_lists.id = ? AND todo_lists.tenant_id = ? AND "
        "todo_lists.deleted_at IS NULL)) AND todo_items.id > ? ORDER BY todo_items.id\n LIMIT "
        "? OFFSET ?",
        "token_row": f"SELECT {_AUTH_COLUMNS} \nFROM api_tokens \nWHERE api_tokens.token_hash = ?",
        "item_for_update": f"SELECT {_ITEM_COLUMNS} \nFROM todo_items \nWHERE todo_items.id = "
        "? AND todo_items.list_id = ? AND todo_items.tenant_id = ? AND todo_items.deleted_at "
        "IS NULL AND (EXISTS (SELECT * \nFROM todo_lists \nWHERE todo_lists.id = ? AND "
        "todo_lists.tenant_id = ? AND todo_lists.deleted_at IS NULL))",
        "update_item": "UPDATE todo_items SET completed=?, version=?, updated_at=? WHERE "
        "todo_items.id = ?",
        "insert_event": f"INSERT INTO entity_events ({_EVENT_COLUMNS}) VALUES "  # noqa: S608 (constants)
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    },
    "postgresql": {
        "tenant_of_token": "SELECT api_tokens.tenant_id \nFROM api_tokens LEFT OUTER JOIN "
        "tenants ON tenants.id = api_tokens.tenant_id \nWHERE api_tokens.token_hash = "
        "%(token_hash_1)s::VARCHAR AND api_tokens.revoked_at IS NULL AND (api_tokens.admin IS "
        "true OR tenants.disabled_at IS NULL)",
        "items_page": f"SELECT {_PAGE_COLUMNS} \nFROM todo_items \nWHERE todo_items.list_id = "
        "%(list_id)s::BIGINT AND todo_items.tenant_id = %(tenant_id)s::BIGINT AND "
        "todo_items.deleted_at IS NULL AND (EXISTS (SELECT * \nFROM todo_lists \nWHERE "
        "todo_lists.id = %(list_id)s::BIGINT AND todo_lists.tenant_id = %(tenant_id)s::BIGINT "
        "AND todo_lists.deleted_at IS NULL)) AND todo_items.id > %(after_id)s::BIGINT ORDER BY "
        "todo_items.id \n LIMIT %(limit)s",
        "token_row": f"SELECT {_AUTH_COLUMNS} \nFROM api_tokens \nWHERE "
        "api_tokens.token_hash = %(token_hash_1)s::VARCHAR",
        "item_for_update": f"SELECT {_ITEM_COLUMNS} \nFROM todo_items \nWHERE todo_items.id = "
        "%(item_id)s::BIGINT AND todo_items.list_id = %(list_id)s::BIGINT AND "
        "todo_items.tenant_id = %(tenant_id)s::BIGINT AND todo_items.deleted_at IS NULL AND "
        "(EXISTS (SELECT * \nFROM todo_lists \nWHERE todo_lists.id = %(list_id)s::BIGINT AND "
        "todo_lists.tenant_id = %(tenant_id)s::BIGINT AND todo_lists.deleted_at IS NULL)) FOR "
        "UPDATE OF todo_items",
        "update_item": "UPDATE todo_items SET completed=%(completed)s, "
        "version=%(version)s::INTEGER, updated_at=%(updated_at)s::TIMESTAMP WITH TIME ZONE "
        "WHERE todo_items.id = %(todo_items_id)s::BIGINT",
        "insert_event": f"COPY entity_events ({_EVENT_COLUMNS}) FROM STDIN",
    },
}


class _Floor:
    """The engine, the statements of its dialect, the token cache and the write gate."""

    def __init__(self, database_url: str) -> None:
        self.engine: AsyncEngine = db_engine.create_engine(database_url)
        # serve's read-only sessions are bound to this derived engine (`BEGIN READ ONLY`)
        self.read_engine: AsyncEngine = sessions.create_read_sessionmaker(self.engine).kw["bind"]
        self.write_gate = sessions.create_write_gate(self.engine)
        self.sqlite = db_engine.is_sqlite(self.engine)
        self.sql = SQL["sqlite" if self.sqlite else "postgresql"]
        self.tokens: dict[str, tuple[int, float]] = {}

    def params(self, name: str, **values: Any) -> Any:
        """The parameters of statement `name`: a tuple in the statement's order on SQLite."""
        if not self.sqlite:
            return values
        order = {
            "tenant_of_token": ("token_hash_1",),
            "items_page": ("list_id", "tenant_id", "list_id", "tenant_id", "after_id", "limit"),
            "token_row": ("token_hash_1",),
            "item_for_update": ("item_id", "list_id", "tenant_id", "list_id", "tenant_id"),
            "update_item": ("completed", "version", "updated_at", "todo_items_id"),
        }[name]
        found = tuple(values[key] for key in order)
        return (*found, 0) if name == "items_page" else found  # SQLite's OFFSET

    def time(self, value: datetime) -> Any:
        # serve's UTCDateTime on SQLite: naive UTC text with microseconds; psycopg takes it as is
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value

    async def tenant_of(self, conn: AsyncConnection, token_hash: str) -> int | None:
        cached = self.tokens.get(token_hash)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        params = self.params("tenant_of_token", token_hash_1=token_hash)
        row = (await conn.exec_driver_sql(self.sql["tenant_of_token"], params)).first()
        if row is None or row[0] is None:
            return None
        self.tokens[token_hash] = (row[0], time.monotonic() + TOKEN_CACHE_S)
        return int(row[0])


def _token_hash(request: Request) -> str:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    return hashlib.sha256(token.encode()).hexdigest()


def _at(value: Any) -> str:
    """A time as serve writes it (`store.schemas`): UTC, microseconds, a `Z`."""
    if isinstance(value, str):  # SQLite's text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"))


def _item(
    id_: int, list_id: int, description: str, completed: Any, created: Any, updated: Any
) -> dict[str, Any]:
    return {
        "id": id_,
        "list_id": list_id,
        "description": description,
        "completed": bool(completed),
        "created_at": _at(created),
        "updated_at": _at(updated),
    }


def _json(status: int, body: Any) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode(), status_code=status, media_type="application/json")


def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(last_id.to_bytes(8, "big")).rstrip(b"=").decode("ascii")


async def _items_page(request: Request) -> Response:
    floor: _Floor = request.app.state.floor
    list_id = int(request.path_params["list_id"])
    limit = int(request.query_params.get("limit", "50"))
    async with floor.read_engine.connect() as conn:
        tenant_id = await floor.tenant_of(conn, _token_hash(request))
        if tenant_id is None:
            return Response(status_code=401)
        params = floor.params(
            "items_page", list_id=list_id, tenant_id=tenant_id, after_id=0, limit=limit + 1
        )
        rows: list[Any] = list(await conn.exec_driver_sql(floor.sql["items_page"], params))
    page = rows[:limit]
    next_cursor = _cursor(page[-1][0]) if len(rows) > limit else None
    return _json(200, {"data": [_item(*row) for row in page], "next_cursor": next_cursor})


async def _patch_item(request: Request) -> Response:
    floor: _Floor = request.app.state.floor
    list_id, item_id = int(request.path_params["list_id"]), int(request.path_params["item_id"])
    completed = bool(json.loads(await request.body())["completed"])
    token_hash = _token_hash(request)
    async with floor.write_gate, floor.engine.begin() as conn:
        params = floor.params("token_row", token_hash_1=token_hash)
        token: Any = (await conn.exec_driver_sql(floor.sql["token_row"], params)).first()
        if token is None:
            return Response(status_code=401)
        token_id, tenant_id = token[0], token[1]
        params = floor.params(
            "item_for_update", item_id=item_id, list_id=list_id, tenant_id=tenant_id
        )
        row: Any = (await conn.exec_driver_sql(floor.sql["item_for_update"], params)).first()
        if row is None:
            return Response(status_code=404)
        updated_at = row[8]
        if bool(row[5]) != completed:
            now = datetime.now(UTC)
            updated_at = now
            params = floor.params(
                "update_item",
                completed=completed,
                version=row[6] + 1,
                updated_at=floor.time(now),
                todo_items_id=item_id,
            )
            await conn.exec_driver_sql(floor.sql["update_item"], params)
            event = (
                tenant_id,
                "item",
                item_id,
                list_id,
                "updated",
                json.dumps({"completed": not completed}, separators=(",", ":")),
                json.dumps({"completed": completed}, separators=(",", ":")),
                "api",
                token_id,
                floor.time(now),
                floor.time(now),
            )
            await _insert_event(floor, conn, event)
    return _json(200, _item(row[0], row[3], row[4], completed, row[7], updated_at))


async def _insert_event(floor: _Floor, conn: AsyncConnection, event: tuple[Any, ...]) -> None:
    if floor.sqlite:
        await conn.exec_driver_sql(floor.sql["insert_event"], event)
        return
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.cursor() as cursor, cursor.copy(floor.sql["insert_event"]) as copy:
        await copy.write_row(event)


def create(database_url: str | None = None) -> Starlette:
    """The app over `database_url`, by default `TODOSYNC_FLOOR_DATABASE_URL`'s (as a uvicorn
    factory); its engine is `app.state.floor.engine`."""
    floor = _Floor(database_url or os.environ[_ENV_URL])

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await floor.engine.dispose()

    app = Starlette(
        routes=[
            Route("/api/todolists/{list_id:int}/items", _items_page, methods=["GET"]),
            Route(
                "/api/todolists/{list_id:int}/items/{item_id:int}", _patch_item, methods=["PATCH"]
            ),
            Route("/healthz", lambda _: Response(b"ok"), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.floor = floor
    return app


def main() -> None:
    port, database_url = int(sys.argv[1]), sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.environ[_ENV_URL] = database_url  # the children (workers > 1) build their app from it
    # As the raw-ASGI floor: serve's uvicorn settings with TODOSYNC_LOG_LEVEL=WARNING.
    uvicorn.run(
        "benchmarks.floor_db_app:create",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
