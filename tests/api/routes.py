"""Every `/api` route, as (method, path template, JSON body), for the tests that must cover all."""

from __future__ import annotations

from typing import Any

__all__ = ["API_ROUTES", "fill"]

API_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/todolists", None),
    ("POST", "/api/todolists", {"name": "New"}),
    ("GET", "/api/todolists/{list_id}", None),
    ("PATCH", "/api/todolists/{list_id}", {"name": "Renamed"}),
    ("DELETE", "/api/todolists/{list_id}", None),
    ("GET", "/api/todolists/{list_id}/items", None),
    ("POST", "/api/todolists/{list_id}/items", {"description": "New"}),
    ("GET", "/api/todolists/{list_id}/items/{item_id}", None),
    ("PATCH", "/api/todolists/{list_id}/items/{item_id}", {"completed": True}),
    ("DELETE", "/api/todolists/{list_id}/items/{item_id}", None),
]


def fill(template: str, *, list_id: int, item_id: int) -> str:
    return template.format(list_id=list_id, item_id=item_id)
