"""Pulling: pages, the `Date` header's clock skew, and per-entity decoding end to end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest

from tests.external.conftest import MakeClient
from tests.fixtures.fake_external import FakeExternal
from todosync.clock import utc_now
from todosync.external import errors
from todosync.external.schemas import NewList
from todosync.fake_external.faults import FaultRule


def _lists(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"l{n}",
            "name": f"List {n}",
            "items": [{"id": "i", "description": "d", "completed": False}],
        }
        for n in range(count)
    ]


async def test_follows_every_page(fake_external: FakeExternal, make_external: MakeClient) -> None:
    """With `Link: rel="next"` paging every page is read in order and the pull is complete."""
    fake_external.load_state(_lists(5))
    fake_external.configure(page_size=2)
    client = make_external()
    pulled = await client.pull()
    assert [tl.id for tl in pulled.lists] == ["l0", "l1", "l2", "l3", "l4"]
    assert (pulled.pages, pulled.complete) == (3, True)
    assert fake_external.request_count("GET") == 3
    assert client.request_count == 3


async def test_failed_page_makes_the_pull_incomplete(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """When a later page fails after its retries, the pull returns what it read, incomplete."""
    fake_external.load_state(_lists(5))
    fake_external.configure(page_size=2)
    armed: list[bool] = []

    def break_after_first_page(method: str, status: int | None, duration_s: float) -> None:
        if not armed:
            armed.append(True)
            fake_external.set_faults([FaultRule(kind="error", status=503)])

    client = make_external(max_attempts=2, on_request=break_after_first_page)
    pulled = await client.pull()
    assert [tl.id for tl in pulled.lists] == ["l0", "l1"]
    assert (pulled.pages, pulled.complete) == (1, False)
    assert fake_external.request_count("GET") == 3


async def test_failed_first_page_raises(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """Without a first page there is nothing to return: the pull raises."""
    fake_external.set_faults([FaultRule(kind="error", status=500)])
    client = make_external(max_attempts=2)
    with pytest.raises(errors.TransientError):
        await client.pull()


async def test_empty_remote_is_complete(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """An empty remote is one complete page with nothing in it."""
    pulled = await make_external().pull()
    assert (pulled.lists, pulled.invalid, pulled.pages, pulled.complete) == ([], [], 1, True)


@pytest.mark.parametrize("offset_s", [300.0, -300.0, 0.0])
async def test_clock_skew_from_the_date_header(
    fake_external: FakeExternal, make_external: MakeClient, offset_s: float
) -> None:
    """The skew (remote minus local) matches the fake's clock offset to within a second."""
    fake_external.configure(clock_offset_s=offset_s)
    client = make_external()
    pulled = await client.pull()
    assert pulled.clock_skew_s == pytest.approx(offset_s, abs=1.0)
    assert client.last_clock_skew_s == pulled.clock_skew_s
    assert pulled.server_date is not None
    expected = utc_now() + timedelta(seconds=offset_s)
    assert abs((pulled.server_date - expected).total_seconds()) < 2.0


async def test_the_same_clock_shows_no_skew(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """With the fake on this machine's clock, every measured skew is exactly 0: a skew within
    the `Date` header's resolution cannot be told from none."""
    client = make_external()
    skews = [(await client.pull()).clock_skew_s for _ in range(5)]
    assert skews == [0.0] * 5


async def test_skew_of_every_answer_is_kept(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """`last_clock_skew_s` follows the latest answer, not only pulls."""
    client = make_external()
    assert client.last_clock_skew_s is None
    await client.pull()
    fake_external.configure(clock_offset_s=-120)
    await client.create_list(NewList("uid-1", "x", []))
    assert client.last_clock_skew_s == pytest.approx(-120, abs=1.0)


async def test_malformed_entities_are_quarantined_end_to_end(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """Bad lists and items served by the fake come back as `InvalidEntity`s; the rest is usable."""
    fake_external.load_state(
        [
            {
                "id": "good",
                "name": "Good",
                "source_id": None,
                "items": [
                    {
                        "id": "ok",
                        "description": "fine",
                        "completed": True,
                        "created_at": "2026-11-28T09:15:02.1234567+02:00",
                    },
                    {"description": "no id", "completed": False},
                    {"id": "typed", "description": "x", "completed": "yes"},
                ],
            },
            {"id": "nameless", "items": []},
            {"id": "flat", "name": "x", "items": "not an array"},
            {"id": "good", "name": "duplicate"},
            {"id": "odd id ü?#", "name": "Odd", "updated_at": "2026-11-28T09:15:02"},
        ]
    )
    pulled = await make_external().pull()
    assert [tl.id for tl in pulled.lists] == ["good", "odd id ü?#"]
    assert [i.id for i in pulled.lists[0].items] == ["ok"]
    assert [(e.kind, e.external_id, e.list_external_id) for e in pulled.invalid] == [
        ("item", None, "good"),
        ("item", "typed", "good"),
        ("list", "nameless", None),
        ("list", "flat", None),
        ("list", "good", None),
    ]
    assert pulled.complete


async def test_odd_ids_round_trip_through_paths(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """Ids with spaces, `?`, `#`, `%` and non-ASCII letters are escaped in request paths."""
    odd = "odd id ü?#%"
    fake_external.load_state(
        [{"id": odd, "name": "x", "items": [{"id": odd, "description": "d", "completed": False}]}]
    )
    client = make_external()
    item = await client.update_item(odd, odd, description="changed")
    assert item.description == "changed"
    renamed = await client.update_list(odd, name="renamed")
    assert renamed.name == "renamed"
    await client.delete_item(odd, odd)
    await client.delete_list(odd)
    assert fake_external.state() == []


# -- edge cases no well-behaved server produces: served by an in-process transport ---------------


def _serve(pages: dict[str, tuple[Any, str | None]]) -> httpx.MockTransport:
    """Answers `GET <path?query>` with the page's JSON and `Link` header."""

    def handle(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        body, link = pages[key]
        headers = {"Link": link} if link else {}
        content = body if isinstance(body, bytes) else msgspec.json.encode(body)
        return httpx.Response(200, content=content, headers=headers)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ('<https://elsewhere.example/todolists?page=2>; rel="next"', "leaves the API's origin"),
        ('</todolists>; rel="next"', "repeats an earlier page"),
    ],
)
async def test_bad_next_links_end_the_pull_incomplete(
    make_external: MakeClient, link: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A next link to another origin (the token must not go there) or back to a page already
    read ends the pull as incomplete without requesting it."""
    transport = _serve({"/todolists": (_lists(1), link)})
    client = make_external(url="http://127.0.0.1:9", transport=transport)
    pulled = await client.pull()
    assert (pulled.pages, pulled.complete, len(pulled.lists)) == (1, False, 1)
    assert reason in caplog.text
    assert client.request_count == 1


async def test_relative_links_and_the_page_limit(make_external: MakeClient) -> None:
    """Relative next links are followed, up to the client's page limit."""
    transport = _serve(
        {
            "/todolists": (_lists(1), '<?page=2>; rel="next"'),
            "/todolists?page=2": ([], '</todolists?page=3>; rel="next"'),
            "/todolists?page=3": ([], None),
        }
    )
    client = make_external(url="http://127.0.0.1:9", transport=transport, max_pages=2)
    pulled = await client.pull()
    assert (pulled.pages, pulled.complete) == (2, False)


async def test_undecodable_page_is_an_invalid_response(make_external: MakeClient) -> None:
    """A first page that is not a JSON array fails the pull with `InvalidResponse`."""
    transport = _serve({"/todolists": (b'{"lists": []}', None)})
    client = make_external(url="http://127.0.0.1:9", transport=transport)
    with pytest.raises(
        errors.InvalidResponse, match="GET /todolists: the body is not a JSON array"
    ):
        await client.pull()


async def test_undecodable_later_page_makes_the_pull_incomplete(make_external: MakeClient) -> None:
    """A later page that does not decode ends the pull as incomplete."""
    transport = _serve(
        {
            "/todolists": (_lists(2), '</todolists?page=2>; rel="next"'),
            "/todolists?page=2": (b"<html>", None),
        }
    )
    client = make_external(url="http://127.0.0.1:9", transport=transport)
    pulled = await client.pull()
    assert (len(pulled.lists), pulled.complete) == (2, False)


async def test_no_date_header_means_no_skew(make_external: MakeClient) -> None:
    """Without a `Date` header the skew is 0.0 and the server date unknown."""
    transport = _serve({"/todolists": ([], None)})
    pulled = await make_external(url="http://127.0.0.1:9", transport=transport).pull()
    assert (pulled.clock_skew_s, pulled.server_date) == (0.0, None)
