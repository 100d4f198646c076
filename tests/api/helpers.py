"""Assertions shared by the API tests."""

from __future__ import annotations

import re
from typing import Any

import httpx

__all__ = ["ITEM_KEYS", "LIST_KEYS", "assert_problem", "assert_timestamp", "offline_assets"]

LIST_KEYS = {"id", "name", "created_at", "updated_at"}
ITEM_KEYS = {"id", "list_id", "description", "completed", "created_at", "updated_at"}
_PAGE_URL = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z")


def assert_timestamp(value: Any) -> None:
    """ISO 8601 in UTC with at least milliseconds."""
    assert isinstance(value, str)
    assert _TIMESTAMP.fullmatch(value), value


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status and a request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


def offline_assets(page: httpx.Response) -> list[str]:
    """The scripts and stylesheets of a docs page, once checked that it names no other host
    (no CDN): every URL in it is a path on the same server."""
    assert page.status_code == 200
    urls = _PAGE_URL.findall(page.text)
    assert not [url for url in urls if "://" in url or url.startswith("//")], urls
    assets = [url for url in urls if url.endswith((".js", ".css"))]
    assert len(assets) >= 2, urls
    return assets
