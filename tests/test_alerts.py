"""The alert webhook against a real local HTTP receiver: one POST per change of a connection's
alert state (into failed, held or degraded, and back to ok), retried when the receiver fails."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stamina
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.api import TenantToken, make_client
from tests.fixtures.fake_external import FAKE_TOKEN, FakeExternal, FaultRule
from todosync import config
from todosync.app import create_app
from todosync.external.client import ExternalClient
from todosync.observe import alerts, observers
from todosync.sync.engine import EngineOptions, RunRequest, SyncEngine


class Receiver:
    """A real HTTP server that records every POST body and answers with the queued statuses
    (200 once none is left)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.statuses.append(status)
                if status == 200:
                    receiver.bodies.append(json.loads(self.rfile.read(length)))
                else:
                    self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def states(self) -> list[tuple[str, str]]:
        return [(body["previous"], body["state"]) for body in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(autouse=True)
def _no_waiting() -> Iterator[None]:
    """Retries happen (up to 3 attempts) without sleeping."""
    with stamina.set_testing(True, attempts=3):
        yield


class Runs:
    """Carries out syncs observed by a webhook notifier, as a CLI sync or the dispatcher would."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: config.Settings,
        url: str,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.notifier = alerts.Notifier(url=url, sessionmaker=sessionmaker)

    async def run(self, **request: Any) -> str:
        observer = observers.Observers(notifier=self.notifier, sessionmaker=self.sessionmaker)
        async with ExternalClient.from_settings(self.settings) as client:
            engine = SyncEngine(
                sessionmaker=self.sessionmaker,
                client=client,
                options=EngineOptions.from_settings(self.settings),
                observer=observer,
            )
            report = await engine.run(RunRequest(**request))
        return report.status

    async def settle(self) -> None:
        """Waits for the webhook posts in flight."""
        await self.notifier.aclose()


@pytest.fixture
def runs(
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    fake_external: FakeExternal,
    receiver: Receiver,
) -> Runs:
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=SecretStr(fake_external.token or ""),
        external_max_attempts=1,
        mass_delete_min=1,
    )
    return Runs(sessionmaker=sessionmaker, settings=settings, url=receiver.url)


async def test_called_once_per_transition(
    runs: Runs, receiver: Receiver, fake_external: FakeExternal
) -> None:
    """ok, failed, failed, degraded, ok, ok: three posts (into failed, into degraded, back to
    ok); repeated states and a first run that is ok post nothing."""
    fake_external.create_list("Groceries", items=["Milk"])
    statuses = [await runs.run()]
    fake_external.configure(token="a-token-we-do-not-have")  # 401: the run fails
    statuses += [await runs.run(), await runs.run()]
    fake_external.configure(token=FAKE_TOKEN)
    fake_external.set_faults([FaultRule(kind="error", status=503)])  # unreachable: degraded
    statuses.append(await runs.run())
    fake_external.clear_faults()
    statuses += [await runs.run(), await runs.run()]
    await runs.settle()

    assert statuses == ["ok", "failed", "failed", "degraded", "ok", "ok"]
    assert receiver.states == [("ok", "failed"), ("failed", "degraded"), ("degraded", "ok")]
    first = receiver.bodies[0]
    assert first["event"] == "sync.state_changed"
    assert (first["tenant"], first["connection"], first["connection_id"]) == (
        "default",
        "default",
        1,
    )
    assert isinstance(first["run_id"], int)
    assert FAKE_TOKEN not in json.dumps(receiver.bodies)


async def test_held_is_a_transition_and_dry_runs_are_not(
    runs: Runs, receiver: Receiver, fake_external: FakeExternal
) -> None:
    """A run held by the mass-delete guard posts `held`; a dry run in between posts nothing."""
    fake_external.create_list("One", items=["a"])
    fake_external.create_list("Two", items=["b"])
    assert await runs.run() == "ok"
    fake_external.load_state([])  # the remote side went empty: the guard holds the run
    assert await runs.run(dry_run=True) == "held"
    assert await runs.run() == "held"
    await runs.settle()
    assert receiver.states == [("ok", "held")]


async def test_a_failing_receiver_is_retried(
    runs: Runs, receiver: Receiver, fake_external: FakeExternal
) -> None:
    """Two 5xx answers, then a 200: the alert is delivered on the third attempt, once."""
    receiver.answers = [503, 500]
    fake_external.configure(token="a-token-we-do-not-have")
    assert await runs.run() == "failed"
    await runs.settle()
    assert receiver.statuses == [503, 500, 200]
    assert receiver.states == [("ok", "failed")]


def test_the_webhook_url_is_a_secret_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The URL may come from a file, never shows in a repr, and must be http(s) (an error that
    does not echo it)."""
    secret_url = "https://hooks.example/services/T0/B0/very-secret"
    path = tmp_path / "hook"
    path.write_text(secret_url + "\n")
    monkeypatch.setenv("TODOSYNC_ALERT_WEBHOOK_URL_FILE", str(path))
    settings = config.load_settings()
    assert settings.alert_webhook_url is not None
    assert settings.alert_webhook_url.get_secret_value() == secret_url
    assert "very-secret" not in repr(settings)
    monkeypatch.delenv("TODOSYNC_ALERT_WEBHOOK_URL_FILE")
    with pytest.raises(config.SettingsError) as caught:
        config.load_settings(alert_webhook_url="ftp://hooks.example/very-secret")
    assert "TODOSYNC_ALERT_WEBHOOK_URL" in str(caught.value)
    assert "very-secret" not in str(caught.value)


async def test_serve_posts_the_transitions_of_the_runs_it_carries_out(
    receiver: Receiver,
    database_url: str,
    fake_external: FakeExternal,
    tenant: TenantToken,
) -> None:
    """With `TODOSYNC_ALERT_WEBHOOK_URL` set, a run carried out by the app's dispatcher that
    fails posts the transition (the app wires the webhook; its shutdown waits for the post)."""
    settings = config.Settings(
        database_url=database_url,
        external_api_url=fake_external.url,
        external_api_token=SecretStr("not-the-fake-token"),
        alert_webhook_url=SecretStr(receiver.url),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), make_client(app, token=tenant.token) as client:
        run_id = (await client.post("/api/sync")).json()["run_id"]
        async with asyncio.timeout(30):  # a deadline for the run, not a timing assertion
            while True:
                if receiver.bodies:
                    break
                await asyncio.sleep(0.05)
        assert (await client.get(f"/api/sync/runs/{run_id}")).json()["status"] == "failed"
    assert receiver.states == [("ok", "failed")]
    assert receiver.bodies[0]["run_id"] == run_id
