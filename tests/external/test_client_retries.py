"""Retries against the fake external API: what is retried, how long it waits, what is not."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import stamina

from tests.external.conftest import MakeClient, Recorded
from tests.fixtures.fake_external import FakeExternal
from todosync.external import errors
from todosync.external.schemas import NewItem, NewList
from todosync.fake_external.faults import FaultKind, FaultRule

NEW = NewList("uid-list", "Groceries", [NewItem("uid-item", "Milk", False)])


def _rule(kind: FaultKind, **fields: object) -> FaultRule:
    return FaultRule(kind=kind, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fault",
    [
        _rule("error", status=500, count=2),
        _rule("error", status=503, count=2),
        _rule("rate_limit", retry_after_s=1, count=2),
        _rule("drop", count=2),
        _rule("timeout", hang_s=5.0, count=2),
    ],
    ids=["500", "503", "429", "drop", "timeout"],
)
async def test_pull_is_retried_until_it_succeeds(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded, fault: FaultRule
) -> None:
    """5xx, 429, a dropped connection and a read timeout are retried; the third try succeeds."""
    fake_external.create_list("Groceries")
    client = make_external(max_attempts=3, read_timeout_s=0.3)
    fake_external.set_faults([fault])
    pulled = await client.pull()
    assert [tl.name for tl in pulled.lists] == ["Groceries"]
    assert fake_external.request_count("GET") == 3
    assert client.request_count == 3
    assert len(recorded.retries) == 2


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_idempotent_writes_are_retried(
    fake_external: FakeExternal, make_external: MakeClient, method: str
) -> None:
    """PATCH and DELETE are retried after an error that may have been applied."""
    created = fake_external.create_list("Groceries", items=["Milk"])
    client = make_external(max_attempts=3)
    fake_external.set_faults([_rule("applied_then_500", methods=[method], count=1)])
    list_id, item_id = created["id"], created["items"][0]["id"]
    if method == "PATCH":
        item = await client.update_item(list_id, item_id, completed=True)
        assert item.completed is True
    else:
        # The first DELETE was applied: the retry finds nothing, which the engine counts done.
        with pytest.raises(errors.NotFound):
            await client.delete_item(list_id, item_id)
    assert fake_external.request_count(method) == 2


async def test_retry_after_seconds_sets_the_wait(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """After a 429 with `Retry-After: 7` the planned wait is 7 s (stamina's test mode skips it)."""
    client = make_external()
    fake_external.set_faults([_rule("rate_limit", retry_after_s=7, count=1)])
    await client.pull()
    [note] = recorded.retries
    assert (note.wait_s, note.from_retry_after, note.status) == (7.0, True, 429)


async def test_retry_after_http_date_is_read_against_the_server_clock(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """An HTTP-date `Retry-After` 3 s ahead means about 3 s, even from a clock 300 s ahead."""
    fake_external.configure(clock_offset_s=300)
    client = make_external()
    rule = _rule("rate_limit", retry_after_s=3, retry_after_form="http-date", count=1)
    fake_external.set_faults([rule])
    await client.pull()
    [note] = recorded.retries
    assert note.from_retry_after
    assert 2.0 <= note.wait_s <= 3.0  # both headers have whole seconds


async def test_retry_after_is_capped(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """A `Retry-After` beyond the cap waits only the cap."""
    client = make_external(retry_after_cap_s=5.0)
    fake_external.set_faults([_rule("rate_limit", retry_after_s=3600, count=1)])
    await client.pull()
    assert recorded.waits == [5.0]


async def test_backoff_without_retry_after_is_jittered_and_bounded(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """Without `Retry-After` the waits come from full-jitter backoff within the policy's maximum."""
    client = make_external(max_attempts=4, wait_s=0.2)
    fake_external.set_faults([_rule("error", status=502, count=3)])
    await client.pull()
    assert len(recorded.waits) == 3
    assert all(0.0 <= wait <= 0.2 for wait in recorded.waits)
    assert not any(note.from_retry_after for note in recorded.retries)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.PermanentError),
        (404, errors.NotFound),
        (409, errors.PermanentError),
        (422, errors.PermanentError),
        (401, errors.AuthenticationError),
        (403, errors.AuthenticationError),
    ],
)
async def test_other_4xx_are_not_retried(
    fake_external: FakeExternal,
    make_external: MakeClient,
    status: int,
    error: type[errors.PermanentError],
) -> None:
    """A 4xx other than 429 fails at once with its status: one request, no retry."""
    client = make_external(max_attempts=5)
    fake_external.set_faults([_rule("error", status=status)])
    with pytest.raises(error) as caught:
        await client.pull()
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.attempts == 1
    assert fake_external.request_count() == 1


async def test_wrong_token_names_the_setting_and_host(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """A 401 raises `AuthenticationError` that names the token setting and the API's host."""
    client = make_external(token="not-the-right-token")
    with pytest.raises(errors.AuthenticationError) as caught:
        await client.pull()
    message = str(caught.value)
    assert "TODOSYNC_EXTERNAL_API_TOKEN" in message
    assert httpx.URL(fake_external.url).host in message
    assert "not-the-right-token" not in message
    assert fake_external.request_count() == 1


async def test_missing_token_says_to_set_one(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """Without a token the 401 message says that none is set."""
    client = make_external(no_token=True)
    with pytest.raises(errors.AuthenticationError, match="no token is set"):
        await client.pull()


@pytest.mark.parametrize("kind", ["applied_then_drop", "applied_then_500", "applied_then_hang"])
async def test_unanswered_post_is_not_retried(
    fake_external: FakeExternal, make_external: MakeClient, kind: FaultKind
) -> None:
    """A POST applied but answered by an error, a drop or silence raises `AmbiguousWrite`
    after one request, and the list does exist on the fake."""
    client = make_external(max_attempts=5, read_timeout_s=0.3)
    fake_external.set_faults([_rule(kind, methods=["POST"], hang_s=5.0, count=1)])
    with pytest.raises(errors.AmbiguousWrite) as caught:
        await client.create_list(NEW)
    assert caught.value.attempts == 1
    assert fake_external.request_count("POST") == 1
    [remote] = fake_external.state()
    assert remote["source_id"] == "uid-list"


@pytest.mark.parametrize("kind", ["error", "drop", "timeout"])
async def test_post_failing_after_sending_is_ambiguous(
    fake_external: FakeExternal, make_external: MakeClient, kind: FaultKind
) -> None:
    """Even when the fake did not apply it, a POST that failed after sending is not retried:
    the client cannot know."""
    client = make_external(max_attempts=5, read_timeout_s=0.3)
    fake_external.set_faults([_rule(kind, methods=["POST"], hang_s=5.0, count=1)])
    with pytest.raises(errors.AmbiguousWrite):
        await client.create_list(NEW)
    assert fake_external.request_count("POST") == 1


async def test_post_is_retried_after_429(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """A 429 refused the POST, so it is sent again, and the list is created once."""
    client = make_external()
    fake_external.set_faults([_rule("rate_limit", methods=["POST"], retry_after_s=1, count=1)])
    created = await client.create_list(NEW)
    assert [i.source_id for i in created.items] == ["uid-item"]
    assert fake_external.request_count("POST") == 2
    assert len(fake_external.state()) == 1


class _RefuseFirstConnects(httpx.AsyncBaseTransport):
    """A transport whose first `n` requests fail to connect (they never leave the machine)."""

    def __init__(self, n: int) -> None:
        self._left = n
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._left > 0:
            self._left -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_post_is_retried_after_a_connect_error(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """A POST that could not connect never reached the API: it is retried and lands once."""
    client = make_external(transport=_RefuseFirstConnects(2))
    await client.create_list(NEW)
    assert fake_external.request_count("POST") == 1
    assert client.request_count == 1  # the refused connects sent nothing
    assert recorded.statuses == [None, None, 201]


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_api_raises_unreachable(make_external: MakeClient) -> None:
    """Connection refused on every attempt ends in `Unreachable` with no request counted."""
    client = make_external(url=f"http://127.0.0.1:{_dead_port()}", max_attempts=3)
    with pytest.raises(errors.Unreachable) as caught:
        await client.pull()
    assert isinstance(caught.value, errors.TransientError)
    assert caught.value.attempts == 3
    assert client.request_count == 0


async def test_budget_stops_a_dying_api_at_once(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """When the run's budget cannot pay the next wait the call fails at once, and so does
    every later call of the run after a single request, until the budget is reset."""
    client = make_external(max_attempts=10, budget_s=2.5)
    fake_external.set_faults([_rule("rate_limit", retry_after_s=1)])
    with pytest.raises(errors.TransientError) as caught:
        await client.pull()
    assert caught.value.budget_exhausted
    assert caught.value.attempts == 3  # waits of 1 s + 1 s fit in 2.5 s; a third does not
    assert recorded.waits == [1.0, 1.0]
    with pytest.raises(errors.TransientError) as again:
        await client.delete_list("anything")
    assert (again.value.attempts, again.value.budget_exhausted) == (1, True)
    assert fake_external.request_count() == 4
    client.reset_run_budget()
    fake_external.clear_faults()
    assert (await client.pull()).complete


async def test_budget_bounds_real_waiting(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """With real sleeps, a dying API costs the run no more than its budget of waiting."""
    client = make_external(max_attempts=1000, budget_s=0.3, wait_s=0.05, threshold=10_000)
    fake_external.set_faults([_rule("error", status=503)])
    started = time.monotonic()
    with stamina.set_testing(False), pytest.raises(errors.TransientError) as caught:
        await client.pull()
    assert caught.value.budget_exhausted
    assert time.monotonic() - started < 2.0
    assert client.retry_budget.spent_s <= 0.3
