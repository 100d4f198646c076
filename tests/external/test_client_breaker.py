"""The circuit breaker inside the client, against the fake external API."""

from __future__ import annotations

import asyncio

import pytest
import stamina

from tests.external.conftest import MakeClient
from tests.fixtures.fake_external import FakeExternal
from todosync.external import errors
from todosync.external.client import ExternalClient
from todosync.external.schemas import NewList
from todosync.fake_external.faults import FaultRule

RESET_S = 0.2


def _state(client: ExternalClient) -> str:
    """The circuit's state, read through a call so that mypy does not narrow it."""
    return client.circuit_state


async def test_opens_rejects_half_opens_and_closes(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """N failed calls open the circuit; calls are then refused without a request; after the
    reset time one probe goes through and its success closes the circuit."""
    client = make_external(threshold=3, reset_s=RESET_S, max_attempts=2)
    fake_external.set_faults([FaultRule(kind="error", status=500)])
    for _ in range(3):
        with pytest.raises(errors.TransientError):
            await client.pull()
    assert client.circuit_state == "open"
    sent = fake_external.request_count()
    assert sent == 6

    with pytest.raises(errors.CircuitOpen) as caught:
        await client.create_list(NewList("uid", "x", []))
    assert caught.value.attempts == 0
    assert fake_external.request_count() == sent

    await asyncio.sleep(RESET_S * 1.5)
    assert _state(client) == "half_open"
    fake_external.clear_faults()
    await client.pull()
    assert _state(client) == "closed"
    assert fake_external.request_count() == sent + 1


async def test_probe_is_a_single_request(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """A failing probe is not retried: one request, and the circuit opens again."""
    client = make_external(threshold=1, reset_s=RESET_S, max_attempts=5)
    fake_external.set_faults([FaultRule(kind="error", status=503)])
    with pytest.raises(errors.TransientError):
        await client.pull()
    await asyncio.sleep(RESET_S * 1.5)
    before = fake_external.request_count()
    with pytest.raises(errors.TransientError) as caught:
        await client.pull()
    assert caught.value.attempts == 1
    assert fake_external.request_count() == before + 1
    assert client.circuit_state == "open"


async def test_concurrent_calls_share_one_probe(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """While the half-open probe is in flight, other calls are refused at once."""
    client = make_external(threshold=1, reset_s=RESET_S, max_attempts=1)
    fake_external.set_faults([FaultRule(kind="error", status=500, count=1)])
    with pytest.raises(errors.TransientError):
        await client.pull()
    await asyncio.sleep(RESET_S * 1.5)
    fake_external.set_faults([FaultRule(kind="latency", latency_ms=300)])
    probe = asyncio.create_task(client.pull())
    await asyncio.sleep(0.05)
    with pytest.raises(errors.CircuitOpen, match="probe"):
        await client.pull()
    await probe
    assert client.circuit_state == "closed"


async def test_client_errors_do_not_open_the_circuit(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """404s and other 4xx show a live API: any number of them leaves the circuit closed."""
    client = make_external(threshold=2)
    for _ in range(4):
        with pytest.raises(errors.NotFound):
            await client.delete_list("missing")
    fake_external.set_faults([FaultRule(kind="error", status=400)])
    for _ in range(3):
        with pytest.raises(errors.PermanentError):
            await client.pull()
    assert client.circuit_state == "closed"


async def test_ambiguous_posts_count_as_failures(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """POSTs answered with 5xx count toward opening the circuit."""
    client = make_external(threshold=2)
    fake_external.set_faults([FaultRule(kind="error", status=502, methods=["POST"])])
    for n in range(2):
        with pytest.raises(errors.AmbiguousWrite):
            await client.create_list(NewList(f"uid-{n}", "x", []))
    assert client.circuit_state == "open"


async def test_retries_stop_when_another_call_opens_the_circuit(
    fake_external: FakeExternal, make_external: MakeClient
) -> None:
    """A call does not keep retrying into a circuit that another call's failure has opened."""
    client = make_external(threshold=1, max_attempts=1000, wait_s=0.01)
    fake_external.set_faults(
        [
            FaultRule(kind="error", status=500, methods=["GET"]),
            FaultRule(kind="error", status=502, methods=["POST"]),
        ]
    )
    with stamina.set_testing(False):  # real (tiny) waits, so the two calls interleave
        pull = asyncio.create_task(client.pull())
        await asyncio.sleep(0.05)
        with pytest.raises(errors.AmbiguousWrite):
            await client.create_list(NewList("uid", "x", []))
        with pytest.raises(errors.TransientError):
            await pull
    assert client.circuit_state == "open"
    assert fake_external.request_count("GET") < 100
