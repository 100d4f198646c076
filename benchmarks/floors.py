"""The physical floors: the least work that any sync of the same data must do.

Run as a child process, like the sync it is compared with: `python -m benchmarks.floors
SPEC.json` prints `{"seconds": ..., "phases": {...}}`. Each floor's clock starts with its
first request and stops after its last write, like the engine's own `duration_s`; creating
the HTTP client and the database engine objects (no connection yet) comes before it.

- `get_decode`: one `GET /todolists` and a typed msgspec decode into structs like the
  engine's (timestamps parsed, `gc=False`).
- `import`: `get_decode`, then one transaction that inserts the same lists and items with
  SQLAlchemy Core (two bulk statements, list ids returned for the items).
- `patch`: `get_decode`, then bare `PATCH`es of items, `concurrency` at a time.
- `post`: bare `POST /todolists` with the given bodies, `concurrency` at a time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast

import httpx
import msgspec
import sqlalchemy as sa

from todosync.db import engine as db_engine
from todosync.store.models import DEFAULT_TENANT_ID, TodoItem, TodoList, new_uid

__all__ = ["main", "measure"]

_Stamp = Annotated[datetime, msgspec.Meta(tz=True)]


class _Item(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    source_id: str | None = None
    description: str
    completed: bool
    created_at: _Stamp | None = None
    updated_at: _Stamp | None = None


class _List(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    source_id: str | None = None
    name: str
    created_at: _Stamp | None = None
    updated_at: _Stamp | None = None
    items: tuple[_Item, ...] = ()


_DECODER = msgspec.json.Decoder(list[_List])


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs the floor that `spec["kind"]` names; its seconds, and per phase."""
    headers = {"Authorization": f"Bearer {spec['token']}"}
    async with httpx.AsyncClient(base_url=spec["api_url"], headers=headers) as http:
        kind = spec["kind"]
        if kind == "get_decode":
            return await _timed(_get_decode_only(http))
        if kind == "import":
            return await _timed(_import(http, spec["database_url"]))
        if kind == "patch":
            return await _timed(_patch(http, spec))
        if kind == "post":
            return await _timed(_post(http, spec))
    raise ValueError(f"unknown floor {kind!r}")


async def _timed(work: Any) -> dict[str, Any]:
    started = time.perf_counter()
    phases: dict[str, float] = await work
    return {"seconds": time.perf_counter() - started, "phases": phases}


async def _get_decode(http: httpx.AsyncClient) -> tuple[list[_List], dict[str, float]]:
    started = time.perf_counter()
    response = await http.get("/todolists")
    response.raise_for_status()
    fetched = time.perf_counter()
    lists = _DECODER.decode(response.content)
    decoded = time.perf_counter()
    return lists, {"get_s": fetched - started, "decode_s": decoded - fetched}


async def _get_decode_only(http: httpx.AsyncClient) -> dict[str, float]:
    return (await _get_decode(http))[1]


async def _import(http: httpx.AsyncClient, database_url: str) -> dict[str, float]:
    engine = db_engine.create_engine(database_url)
    try:
        lists, phases = await _get_decode(http)
        started = time.perf_counter()
        async with engine.begin() as conn:
            await _insert(conn, lists)
        return phases | {"insert_s": time.perf_counter() - started}
    finally:
        await engine.dispose()


async def _insert(conn: Any, lists: list[_List]) -> None:
    lists_table = cast(sa.Table, TodoList.__table__)
    items_table = cast(sa.Table, TodoItem.__table__)
    now = datetime.now().astimezone()
    common = {"tenant_id": DEFAULT_TENANT_ID, "version": 1, "created_at": now, "updated_at": now}
    list_rows = [{"uid": new_uid(), "name": remote.name} | common for remote in lists]
    result = await conn.execute(
        sa.insert(lists_table).returning(lists_table.c.id, sort_by_parameter_order=True),
        list_rows,
    )
    list_ids = result.scalars().all()
    item_rows = [
        {"uid": new_uid(), "list_id": list_id}
        | {"description": item.description, "completed": item.completed}
        | common
        for list_id, remote in zip(list_ids, lists, strict=True)
        for item in remote.items
    ]
    if item_rows:
        await conn.execute(sa.insert(items_table), item_rows)


async def _patch(http: httpx.AsyncClient, spec: dict[str, Any]) -> dict[str, float]:
    _, phases = await _get_decode(http)
    started = time.perf_counter()
    await _send_all(http, "PATCH", spec["requests"], spec["concurrency"])
    return phases | {"writes_s": time.perf_counter() - started}


async def _post(http: httpx.AsyncClient, spec: dict[str, Any]) -> dict[str, float]:
    started = time.perf_counter()
    await _send_all(http, "POST", spec["requests"], spec["concurrency"])
    return {"writes_s": time.perf_counter() - started}


async def _send_all(
    http: httpx.AsyncClient, method: str, requests: list[dict[str, Any]], concurrency: int
) -> None:
    """Sends each `{"path", "body"}`, at most `concurrency` at a time, as the engine does."""
    limit = asyncio.Semaphore(concurrency)

    async def send(request: dict[str, Any]) -> None:
        async with limit:
            body = msgspec.json.encode(request["body"])
            headers = {"Content-Type": "application/json"}
            response = await http.request(method, request["path"], content=body, headers=headers)
            response.raise_for_status()

    async with asyncio.TaskGroup() as group:
        for request in requests:
            group.create_task(send(request))


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(measure(spec))))


if __name__ == "__main__":
    main()
