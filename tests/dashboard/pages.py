"""Helpers for the server-side tests: sign in through the form with an HTTP client, and
read the CSRF token a page carries."""

from __future__ import annotations

import re

import httpx

__all__ = ["csrf_of", "sign_in"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on the page."""
    found = _CSRF.search(page.text)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> str:
    """Signs the client in; returns the session's CSRF token."""
    form = await client.get("/dashboard/sign-in")
    response = await client.post(
        "/dashboard/sign-in", data={"csrf_token": csrf_of(form), "token": token}
    )
    assert response.status_code == 303, response.text
    return csrf_of(await client.get("/dashboard/actions"))
