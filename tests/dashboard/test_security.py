"""The dashboard's session and CSRF protection, over HTTP against the app (no browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.dashboard.pages import csrf_of, sign_in
from tests.fixtures.api import TenantToken, make_client
from todosync.auth import service as auth_service

# Every state-changing dashboard route, with a body that would otherwise be accepted.
CHANGES = [
    ("/dashboard/actions/sync", {}),
    ("/dashboard/conflicts/1/resolve", {"choice": "local"}),
    ("/dashboard/conflicts/1/dismiss", {}),
    ("/dashboard/quarantine/1/replay", {}),
    ("/dashboard/quarantine/replay-all", {}),
]


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client without any API token."""
    async with make_client(app) as client:
        yield client


def _cookie(response: httpx.Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie


async def test_the_session_cookie_is_http_only_same_site_and_scoped(
    browser: httpx.AsyncClient,
) -> None:
    """The cookie cannot be read by scripts, is not sent by other sites' requests, and only
    goes to the dashboard's paths; it expires."""
    response = await browser.get("/dashboard/sign-in")

    morsel = _cookie(response)["todosync_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/dashboard"
    assert int(morsel["max-age"]) == 12 * 3600
    assert not morsel["secure"]


async def test_the_cookie_is_secure_over_https(app: FastAPI) -> None:
    """A page served over https sets a `Secure` cookie."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://todosync.test"
    ) as client:
        response = await client.get("/dashboard/sign-in")
    assert _cookie(response)["todosync_session"]["secure"] is True


async def test_the_cookie_and_pages_never_hold_the_token(
    browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """The session keeps the tenant and a hash, never the token itself."""
    await sign_in(browser, tenant.token)
    overview = await browser.get("/dashboard")

    assert overview.status_code == 200
    assert tenant.token not in browser.cookies["todosync_session"]
    assert tenant.token not in overview.text
    assert tenant.token.removeprefix("tds_") not in overview.text


@pytest.mark.parametrize(("path", "form"), CHANGES)
async def test_a_change_without_the_csrf_token_is_refused(
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    tenant: TenantToken,
    path: str,
    form: dict[str, str],
) -> None:
    """A signed-in browser's POST without the session's CSRF token, or with another, is a
    403 and changes nothing."""
    await sign_in(browser, tenant.token)

    missing = await browser.post(path, data=form)
    forged = await browser.post(path, data={**form, "csrf_token": "forged"})
    forged_header = await browser.post(path, data=form, headers={"X-CSRF-Token": "forged"})

    assert [r.status_code for r in (missing, forged, forged_header)] == [403, 403, 403]
    assert "CSRF check failed" in missing.text
    assert (await client.get("/api/sync/runs")).json()["data"] == []


async def test_the_csrf_token_of_another_session_is_refused(
    app: FastAPI, browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """A token is bound to its session: one read by another browser does not work here."""
    await sign_in(browser, tenant.token)
    async with make_client(app) as attacker:
        stolen = await sign_in(attacker, tenant.token)

    response = await browser.post("/dashboard/actions/sync", data={"csrf_token": stolen})

    assert response.status_code == 403


async def test_the_session_token_queues_a_run(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """With the session's CSRF token (form field or htmx's header) the same POST works."""
    csrf = await sign_in(browser, tenant.token)

    by_form = await browser.post("/dashboard/actions/sync", data={"csrf_token": csrf})
    by_header = await browser.post(
        "/dashboard/actions/sync", data={"dry_run": "true"}, headers={"X-CSRF-Token": csrf}
    )

    assert [by_form.status_code, by_header.status_code] == [303, 303]
    assert len((await client.get("/api/sync/runs")).json()["data"]) == 2


async def test_sign_in_needs_the_csrf_token(
    browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """Another site cannot sign a browser in (login CSRF): no token, no session."""
    await browser.get("/dashboard/sign-in")
    response = await browser.post("/dashboard/sign-in", data={"token": tenant.token})

    assert response.status_code == 403
    assert (await browser.get("/dashboard")).status_code == 303


async def test_sign_out_needs_the_csrf_token(
    browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """Another site cannot sign a browser out either; with the token, signing out works."""
    csrf = await sign_in(browser, tenant.token)

    assert (await browser.post("/dashboard/sign-out")).status_code == 403
    assert (await browser.get("/dashboard")).status_code == 200
    signed_out = await browser.post("/dashboard/sign-out", data={"csrf_token": csrf})
    assert signed_out.headers["location"] == "/dashboard/sign-in"
    assert (await browser.get("/dashboard")).status_code == 303


async def test_a_tampered_cookie_is_no_session(
    browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """A cookie whose content was changed fails its signature: back to signing in."""
    await sign_in(browser, tenant.token)
    value = browser.cookies["todosync_session"]
    browser.cookies.clear()
    browser.cookies.set("todosync_session", "x" + value[1:], path="/dashboard")

    response = await browser.get("/dashboard")

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"


async def test_revoking_the_token_ends_the_session(
    browser: httpx.AsyncClient, tenant: TenantToken, session: AsyncSession
) -> None:
    """The session checks its token on every request."""
    await sign_in(browser, tenant.token)
    await auth_service.revoke_token(session, token=tenant.token)
    await session.commit()

    response = await browser.get("/dashboard", follow_redirects=True)

    assert str(response.url).endswith("/dashboard/sign-in")
    assert "was revoked" in response.text


async def test_an_expired_session_sends_htmx_to_sign_in(browser: httpx.AsyncClient) -> None:
    """htmx requests get `HX-Redirect` (a whole-page navigation), not a redirect it would
    swap into the page."""
    response = await browser.get("/dashboard", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/dashboard/sign-in"


async def test_pages_carry_security_headers(browser: httpx.AsyncClient) -> None:
    """No framing, no inline scripts, no caching of tenant pages."""
    response = await browser.get("/dashboard/sign-in")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert csrf_of(response)


async def test_the_live_part_is_rendered_alone(
    browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """htmx's refresh of a page's live part gets that part only, not the whole page."""
    await sign_in(browser, tenant.token)

    whole = await browser.get("/dashboard/runs")
    part = await browser.get("/dashboard/runs", headers={"HX-Request": "true", "HX-Target": "live"})

    assert "<html" in whole.text
    assert part.text.lstrip().startswith('<div id="live"')
    assert "<html" not in part.text
    assert 'id="no-runs"' in part.text


async def test_static_files_are_served(browser: httpx.AsyncClient) -> None:
    """htmx and the dashboard's own script and styles come from the app itself."""
    for name in ("htmx.min.js", "dashboard.js", "dashboard.css"):
        response = await browser.get(f"/dashboard/static/{name}")
        assert response.status_code == 200, name
        assert len(response.content) > 500


async def test_pages_that_change_nothing_set_no_cookie(
    browser: httpx.AsyncClient, tenant: TenantToken
) -> None:
    """Only a change of the session writes the cookie, so that a live refresh answered
    after a sign-out cannot bring the old session back."""
    await sign_in(browser, tenant.token)
    await browser.get("/dashboard")  # shows the "Signed in." message, and drops it

    refresh = await browser.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "live"})
    again = await browser.get("/dashboard/runs")

    assert "set-cookie" not in refresh.headers
    assert "set-cookie" not in again.headers


async def test_an_unknown_address_is_a_page_not_a_json_document(
    browser: httpx.AsyncClient,
) -> None:
    """A mistyped dashboard address answers a readable 404 page; the trailing slash of the
    overview's address is forgiven."""
    missing = await browser.get("/dashboard/no-such-page")
    slash = await browser.get("/dashboard/")

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "There is nothing at this address." in missing.text
    assert (slash.status_code, slash.headers["location"]) == (307, "/dashboard")


async def test_the_pages_own_requests_of_a_dead_session_leave_the_cookie_alone(
    browser: httpx.AsyncClient, tenant: TenantToken, session: AsyncSession
) -> None:
    """A live refresh or the event stream that reaches the server after the session ended
    (say, sent just before a sign-out answered) neither sets a cookie (it would overwrite the
    sign-out's, and its message) nor redirects: htmx navigates, an EventSource stops."""
    await sign_in(browser, tenant.token)
    await auth_service.revoke_token(session, token=tenant.token)
    await session.commit()

    refresh = await browser.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "live"})
    assert (refresh.status_code, refresh.headers["HX-Redirect"]) == (204, "/dashboard/sign-in")
    stream = await browser.get("/dashboard/events", headers={"Accept": "text/event-stream"})
    assert stream.status_code == 204
    for response in (refresh, stream):
        assert "set-cookie" not in response.headers
    # a navigation still drops the dead session and says why
    page = await browser.get("/dashboard")
    assert page.status_code == 303
    assert "set-cookie" in page.headers
