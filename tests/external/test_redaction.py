"""The token never shows: not in logs (any logger at DEBUG), printed output, errors or reprs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import pytest
from pydantic import SecretStr

from tests.external.conftest import MakeClient
from tests.fixtures.fake_external import FakeExternal
from todosync.external import errors, transport
from todosync.external.schemas import NewList
from todosync.fake_external.faults import FaultRule

SECRET = "tok-6f1d2a9c-very-secret"
WRONG_SECRET = "tok-0b7e44e1-also-secret"
LOGGERS = ("", "httpx", "httpcore", "stamina", "todosync", "purgatory")


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


async def test_token_never_appears(
    fake_external: FakeExternal,
    make_external: MakeClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through successes, retries, drops, timeouts, a 401, an ambiguous POST and an open
    circuit, neither token reaches a log record, stdout/stderr, an error or a repr."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    fake_external.configure(token=SECRET)
    client = make_external(token=SECRET, threshold=3, max_attempts=3, read_timeout_s=0.3)
    wrong = make_external(token=WRONG_SECRET)
    raised: list[BaseException] = []

    async def collect(call: Awaitable[object]) -> None:
        try:
            await call
        except errors.ExternalError as exc:
            raised.append(exc)

    await client.pull()
    fake_external.set_faults([FaultRule(kind="error", status=500, count=1)])
    await client.pull()  # a retry: stamina logs it
    fake_external.set_faults(
        [FaultRule(kind="drop", count=1), FaultRule(kind="timeout", hang_s=5.0, count=1)]
    )
    await client.pull()
    await collect(wrong.pull())
    fake_external.set_faults([FaultRule(kind="applied_then_500", methods=["POST"])])
    for n in range(3):
        await collect(client.create_list(NewList(f"uid-{n}", "x", [])))
    await collect(client.pull())  # refused: the circuit is open

    assert [type(exc) for exc in raised] == [
        errors.AuthenticationError,
        errors.AmbiguousWrite,
        errors.AmbiguousWrite,
        errors.AmbiguousWrite,
        errors.CircuitOpen,
    ]
    texts = [caplog.text, *(repr(record.__dict__) for record in caplog.records)]
    printed = capsys.readouterr()
    texts += [printed.out, printed.err]
    texts += [text for exc in raised for link in _chain(exc) for text in (str(link), repr(link))]
    texts += [repr(client), repr(wrong), repr(client.breaker), repr(client.retry_budget)]
    assert any("stamina" in text for text in texts)  # the retry logs did run
    assert any("external API at 127.0.0.1:" in text for text in texts)
    for text in texts:
        assert SECRET not in text
        assert WRONG_SECRET not in text


def test_bearer_auth_repr_hides_the_token() -> None:
    """The auth object that holds the token shows only a mask."""
    auth = transport.BearerAuth(SecretStr(SECRET))
    assert SECRET not in repr(auth)
    assert SECRET not in str(auth)
