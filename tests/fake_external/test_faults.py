"""Each fault kind as a real httpx client sees it, and how rules target and count requests."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from tests.fixtures.fake_external import FakeExternal, RequestRecord
from todosync.fake_external.faults import FaultRule


@pytest.fixture
def client(fake_external: FakeExternal) -> Iterator[httpx.Client]:
    """An httpx client on the fake with its token and a short read timeout."""
    with httpx.Client(
        base_url=fake_external.url,
        headers=fake_external.auth_headers(),
        timeout=httpx.Timeout(5.0, read=2.0),
    ) as client:
        yield client


def wait_until_done(fake_external: FakeExternal, *, timeout_s: float = 5.0) -> list[RequestRecord]:
    """The request log once every logged request has ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = fake_external.requests()
        if all(record.done for record in records):
            return records
        assert time.monotonic() < deadline, records
        time.sleep(0.01)


def test_latency_delays_the_answer(client: httpx.Client, fake_external: FakeExternal) -> None:
    """A latency rule delays the answer by at least its milliseconds and is logged."""
    fake_external.set_faults([FaultRule(kind="latency", latency_ms=200)])
    started = time.monotonic()
    assert client.get("/todolists").status_code == 200
    assert time.monotonic() - started >= 0.2
    assert fake_external.requests()[0].fault == "latency"


def test_error_answers_500_without_applying(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """An error rule answers 500 and the write does not happen."""
    fake_external.set_faults([FaultRule(kind="error", count=1)])
    assert client.post("/todolists", json={"name": "x"}).status_code == 500
    assert fake_external.state() == []
    record = fake_external.requests()[0]
    assert (record.status, record.fault, record.applied) == (500, "error", False)


def test_error_status_is_configurable(client: httpx.Client, fake_external: FakeExternal) -> None:
    """An error rule can answer another 4xx/5xx status, such as 503."""
    fake_external.set_faults([FaultRule(kind="error", status=503)])
    assert client.get("/todolists").status_code == 503


def test_rate_limit_sends_retry_after_in_seconds(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A rate_limit rule answers 429 with Retry-After in seconds."""
    fake_external.set_faults([FaultRule(kind="rate_limit", retry_after_s=7)])
    response = client.get("/todolists")
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")


def test_rate_limit_sends_retry_after_as_http_date(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """In http-date form, Retry-After is a date that far after the server's Date."""
    fake_external.set_faults(
        [FaultRule(kind="rate_limit", retry_after_s=30, retry_after_form="http-date")]
    )
    response = client.get("/todolists")
    retry_at = email.utils.parsedate_to_datetime(response.headers["retry-after"])
    sent_at = email.utils.parsedate_to_datetime(response.headers["date"])
    assert 29 <= (retry_at - sent_at).total_seconds() <= 31


def test_timeout_hangs_until_the_client_gives_up(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A timeout rule without hang_s makes the client time out; the write is not applied."""
    fake_external.set_faults([FaultRule(kind="timeout")])
    with pytest.raises(httpx.ReadTimeout):
        client.post("/todolists", json={"name": "x"}, timeout=0.3)
    record = wait_until_done(fake_external)[0]
    assert (record.fault, record.status, record.applied) == ("timeout", None, False)
    assert fake_external.state() == []


def test_timeout_with_hang_s_ends_in_a_dropped_connection(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A timeout rule with hang_s holds the request that long, then closes the connection."""
    fake_external.set_faults([FaultRule(kind="timeout", hang_s=0.2)])
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/todolists")
    assert time.monotonic() - started >= 0.2


def test_drop_closes_the_connection_without_an_answer(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A drop rule closes the socket: the client sees a protocol error, the write is not applied."""
    fake_external.set_faults([FaultRule(kind="drop", count=1)])
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/todolists", json={"name": "x"})
    assert fake_external.state() == []
    assert client.get("/todolists").status_code == 200  # the next request is fine


def test_applied_then_500_applies_the_write(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """An ambiguous write answers 500 although the list was created."""
    fake_external.set_faults([FaultRule(kind="applied_then_500", methods=["POST"])])
    assert client.post("/todolists", json={"name": "x"}).status_code == 500
    assert [tl["name"] for tl in fake_external.state()] == ["x"]
    record = fake_external.requests()[0]
    assert (record.status, record.fault, record.applied) == (500, "applied_then_500", True)


def test_applied_then_hang_applies_the_write(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """An ambiguous write that hangs makes the client time out although it was applied."""
    fake_external.set_faults([FaultRule(kind="applied_then_hang")])
    with pytest.raises(httpx.ReadTimeout):
        client.post("/todolists", json={"name": "x"}, timeout=0.3)
    assert [tl["name"] for tl in fake_external.state()] == ["x"]
    assert wait_until_done(fake_external)[0].applied


def test_applied_then_drop_applies_the_write(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """An ambiguous write whose connection is dropped was applied all the same."""
    fake_external.set_faults([FaultRule(kind="applied_then_drop", count=1)])
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/todolists", json={"name": "x"})
    assert [tl["name"] for tl in fake_external.state()] == ["x"]


def test_applied_then_pause_holds_the_answer_until_released(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """A paused write is applied and visible in the log while in flight, and answered on release."""
    fake_external.set_faults([FaultRule(kind="applied_then_pause", methods=["POST"])])
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(client.post, "/todolists", json={"name": "x"}, timeout=10)
        (record,) = fake_external.wait_for_requests(1, method="POST")
        assert (record.done, record.applied, record.status) == (False, True, None)
        assert [tl["name"] for tl in fake_external.state()] == ["x"]
        assert not future.done()
        assert fake_external.release() == 1
        assert future.result(timeout=5).status_code == 201
    assert fake_external.requests()[0].status == 201


def test_rules_target_methods_and_paths(client: httpx.Client, fake_external: FakeExternal) -> None:
    """A rule hits only requests of its methods whose path matches its glob."""
    created = fake_external.create_list("L", items=["a"])
    item_path = f"/todolists/{created['id']}/todoitems/{created['items'][0]['id']}"
    fake_external.set_faults(
        [FaultRule(kind="error", methods=["patch"], path="/todolists/*/todoitems/*")]
    )
    assert client.patch(f"/todolists/{created['id']}", json={"name": "M"}).status_code == 200
    assert client.delete(item_path).status_code == 204
    assert client.patch(item_path, json={}).status_code == 500


def test_count_limits_hits_to_the_next_matching_requests(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """With count 2, exactly the next two matching requests are hit."""
    fake_external.set_faults([FaultRule(kind="error", count=2)])
    statuses = [client.get("/todolists").status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert fake_external.fault_hits() == [2]


def test_a_seed_makes_rates_reproducible(client: httpx.Client, fake_external: FakeExternal) -> None:
    """The same seed and rules give the same sequence of hits."""
    rules = [FaultRule(kind="error", rate=0.5)]

    def run() -> list[int]:
        fake_external.set_faults(rules, seed=42)
        return [client.get("/todolists").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert 500 in first
    assert 200 in first


def test_latency_adds_up_with_an_outcome(client: httpx.Client, fake_external: FakeExternal) -> None:
    """Latency rules apply together with the first other rule that fires."""
    fake_external.set_faults(
        [
            FaultRule(kind="latency", latency_ms=100),
            FaultRule(kind="rate_limit", count=1),
            FaultRule(kind="error", count=1),
        ]
    )
    started = time.monotonic()
    assert client.get("/todolists").status_code == 429
    assert client.get("/todolists").status_code == 500
    assert time.monotonic() - started >= 0.2


def test_reset_releases_a_hanging_request(fake_external: FakeExternal) -> None:
    """A reset lets a request that hangs forever end (as a dropped connection)."""
    fake_external.set_faults([FaultRule(kind="timeout")])
    with (
        httpx.Client(base_url=fake_external.url, headers=fake_external.auth_headers()) as client,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        future = pool.submit(client.get, "/todolists", timeout=10)
        fake_external.wait_for_requests(1)
        fake_external.reset()
        with pytest.raises(httpx.RemoteProtocolError):
            future.result(timeout=5)


def test_faulted_requests_are_in_the_log_with_their_dates(
    client: httpx.Client, fake_external: FakeExternal
) -> None:
    """Injected errors carry a Date header too."""
    fake_external.set_faults([FaultRule(kind="error")])
    sent = email.utils.parsedate_to_datetime(client.get("/todolists").headers["date"])
    assert abs((sent - datetime.now(UTC)).total_seconds()) < 5
