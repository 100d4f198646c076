"""The client's calls against the fake external API, its hooks, and how it is built."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from tests.external.conftest import MakeClient, Recorded
from tests.fixtures.fake_external import FakeExternal
from todosync.config import Settings, SettingsError
from todosync.external import errors
from todosync.external.breaker import CircuitBreaker
from todosync.external.client import ExternalClient
from todosync.external.resilience import RetryPolicy
from todosync.external.schemas import NewItem, NewList
from todosync.fake_external.faults import FaultRule


async def test_create_list_sends_source_ids_and_returns_the_entity(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """A new list with its items is one POST; the answer carries server ids and our source ids."""
    client = make_external()
    new = NewList(
        "uid-l", "Groceries", [NewItem("uid-a", "Milk", False), NewItem("uid-b", "Tea", True)]
    )
    created = await client.create_list(new)
    assert (created.name, created.source_id) == ("Groceries", "uid-l")
    assert [(i.source_id, i.description, i.completed) for i in created.items] == [
        ("uid-a", "Milk", False),
        ("uid-b", "Tea", True),
    ]
    assert created.created_at is not None
    assert fake_external.state()[0]["id"] == created.id
    assert fake_external.request_count() == 1


async def test_updates_send_only_the_given_fields(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """PATCH bodies carry only what changed; the other fields keep their remote values."""
    remote = fake_external.create_list("Groceries", items=["Milk"])
    list_id, item_id = remote["id"], remote["items"][0]["id"]
    client = make_external()
    item = await client.update_item(list_id, item_id, completed=True)
    assert (item.description, item.completed) == ("Milk", True)
    item = await client.update_item(list_id, item_id, description="Oat milk")
    assert (item.description, item.completed) == ("Oat milk", True)
    renamed = await client.update_list(list_id, name="Shop")
    assert renamed.name == "Shop"
    with pytest.raises(ValueError, match="needs a description or completed"):
        await client.update_item(list_id, item_id)


async def test_deletes_and_not_found(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """Deletes succeed once; deleting what is gone raises `NotFound`."""
    remote = fake_external.create_list("Groceries", items=["Milk"])
    client = make_external()
    await client.delete_item(remote["id"], remote["items"][0]["id"])
    with pytest.raises(errors.NotFound):
        await client.delete_item(remote["id"], remote["items"][0]["id"])
    await client.delete_list(remote["id"])
    with pytest.raises(errors.NotFound) as caught:
        await client.delete_list(remote["id"])
    assert caught.value.status == 404
    assert fake_external.state() == []


async def test_item_create_extension(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """`create_item` uses the extension when offered and raises `NotSupported` when not."""
    remote = fake_external.create_list("Groceries")
    client = make_external()
    with pytest.raises(errors.NotSupported):
        await client.create_item(remote["id"], NewItem("uid-i", "Milk", False))
    fake_external.configure(item_create=True)
    item = await client.create_item(remote["id"], NewItem("uid-i", "Milk", False))
    assert (item.source_id, item.description) == ("uid-i", "Milk")
    assert fake_external.state()[0]["items"][0]["id"] == item.id
    assert client.circuit_state == "closed"


@pytest.mark.parametrize("status", [405, 501])
async def test_item_create_other_unsupported_statuses(
    fake_external: FakeExternal, make_external: MakeClient, status: int
) -> None:
    """405 and 501 on the extension mean "not supported" too, not an ambiguous write."""
    client = make_external()
    fake_external.set_faults([FaultRule(kind="error", status=status, methods=["POST"])])
    with pytest.raises(errors.NotSupported):
        await client.create_item("l1", NewItem("uid-i", "Milk", False))
    assert fake_external.request_count() == 1


async def test_request_hook_and_count(
    fake_external: FakeExternal, make_external: MakeClient, recorded: Recorded
) -> None:
    """Every attempt reaches the hook with method, status and duration; all are counted."""
    client = make_external()
    fake_external.set_faults([FaultRule(kind="error", status=500, count=1)])
    await client.pull()
    with pytest.raises(errors.NotFound):
        await client.delete_list("missing")
    assert [(m, s) for m, s, _ in recorded.requests] == [
        ("GET", 500),
        ("GET", 200),
        ("DELETE", 404),
    ]
    assert all(duration >= 0 for _, _, duration in recorded.requests)
    assert client.request_count == 3


async def test_a_failing_hook_does_not_break_calls(make_external: MakeClient) -> None:
    """A request hook that raises is logged and ignored."""

    def broken(method: str, status: int | None, duration_s: float) -> None:
        raise RuntimeError("metrics are down")

    client = make_external(on_request=broken)
    assert (await client.pull()).complete


def _respond(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers=headers)
    )


async def test_bad_answer_to_a_create_is_an_invalid_response(make_external: MakeClient) -> None:
    """A 201 whose body is not a valid list raises `InvalidResponse` naming the call."""
    client = make_external(url="http://127.0.0.1:9", transport=_respond(201, b'{"id": "x"}'))
    with pytest.raises(errors.InvalidResponse, match=r"POST /todolists: .*`name` is missing"):
        await client.create_list(NewList("uid", "x", []))


async def test_redirects_are_not_followed(make_external: MakeClient) -> None:
    """A redirect is a permanent error: the token never follows it elsewhere."""
    transport = _respond(302, headers={"Location": "https://elsewhere.example/todolists"})
    client = make_external(url="http://127.0.0.1:9", transport=transport)
    with pytest.raises(errors.PermanentError) as caught:
        await client.pull()
    assert caught.value.status == 302
    assert client.request_count == 1


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.example.com", "must use https://"),
        ("ftp://127.0.0.1", "must be an http"),
        ("https://user:pw@api.example.com", "must not carry credentials"),
    ],
)
async def test_client_refuses_unsafe_urls(url: str, problem: str) -> None:
    """Plain http to a non-loopback host, other schemes and URLs with credentials are refused."""
    async with httpx.AsyncClient() as http:
        with pytest.raises(SettingsError, match=problem) as caught:
            ExternalClient(
                http=http,
                base_url=url,
                token=None,
                policy=RetryPolicy(),
                breaker=CircuitBreaker(failure_threshold=1, reset_s=1.0),
            )
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8100", "http://localhost", "http://[::1]:9", "https://api.example.com/v1"],
)
async def test_client_accepts_https_and_loopback(url: str) -> None:
    """https anywhere and http on loopback are accepted; a base path is kept."""
    client = ExternalClient(
        http=httpx.AsyncClient(),
        base_url=url,
        token=SecretStr("t"),
        policy=RetryPolicy(),
        breaker=CircuitBreaker(failure_threshold=1, reset_s=1.0),
    )
    async with client:
        assert client.base_url.endswith("/")
        assert client.base_url.startswith(url.rstrip("/"))


async def test_from_settings_uses_the_settings(fake_external: FakeExternal) -> None:
    """`from_settings` wires URL, token, read timeout, attempts and breaker from the settings."""
    settings = Settings(
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
        external_read_timeout_seconds=0.2,
        external_max_attempts=1,
        breaker_failure_threshold=1,
    )
    async with ExternalClient.from_settings(settings) as client:
        assert (await client.pull()).complete
        fake_external.set_faults([FaultRule(kind="timeout", hang_s=5.0)])
        with pytest.raises(errors.TransientError, match="ReadTimeout") as caught:
            await client.pull()
        assert caught.value.attempts == 1
        assert client.circuit_state == "open"


async def test_from_settings_checks_the_url_again() -> None:
    """Settings built without validation still cannot point the client at plain http."""
    settings = Settings.model_construct(external_api_url="http://api.example.com")
    with pytest.raises(SettingsError, match="must use https://"):
        ExternalClient.from_settings(settings)
