"""`todosync connections` and `todosync secrets` as subprocesses against the test database:
one line per error, a non-zero exit, `--json` on the list, never a token in any output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.runner import run_cli

TOKEN = "acme-secret-external-token"

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    def run(*args: str, **env: str) -> tuple[int, str, str]:
        done = run_cli(*args, database_url=database_url, cwd=tmp_path, timeout_s=60, **env)
        return done.returncode, done.stdout, done.stderr

    return run


def _key(cli: Cli) -> str:
    code, out, _ = cli("secrets", "new-key")
    assert code == 0
    return out.strip()


def test_connections_create_list_disable_enable_and_set_token(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\n", encoding="utf-8")
    key = _key(cli)
    create = ("connections", "create", "--tenant", "acme", "--url", "http://127.0.0.1:9100")
    assert cli("tenants", "create", "acme")[0] == 0

    code, out, err = cli(*create, "--token-file", "token")
    assert (code, out, err.count("\n")) == (1, "", 1)
    assert "TODOSYNC_SECRET_KEY is not set" in err

    code, out, err = cli(
        *create, "--token-file", "token", "--interval", "30", TODOSYNC_SECRET_KEY=key
    )
    assert code == 0, err
    connection_id = int(out)
    code, _, err = cli(*create, "--token-file", "token", TODOSYNC_SECRET_KEY=key)
    assert (code, err) == (
        1,
        f"todosync: error: tenant acme already has connection {connection_id} (one connection "
        "per tenant)\n",
    )

    code, out, err = cli("connections", "list", "--json")
    assert code == 0
    assert TOKEN not in out + err
    listed = {c["id"]: c for c in json.loads(out)["data"]}
    assert listed[connection_id] == {
        **listed[connection_id],
        "tenant": "acme",
        "url": "http://127.0.0.1:9100",
        "has_token": True,
        "interval_seconds": 30,
        "disabled_at": None,
    }
    assert listed[1]["from_settings"] is True
    assert (
        f"{connection_id}\tacme\thttp://127.0.0.1:9100\ttoken set" in cli("connections", "list")[1]
    )

    assert cli("connections", "disable", str(connection_id))[0] == 0
    listed = {c["id"]: c for c in json.loads(cli("connections", "list", "--json")[1])["data"]}
    assert listed[connection_id]["disabled_at"] is not None
    code, _, err = cli("sync", "--tenant", "acme")
    assert (code, err) == (
        1,
        f"todosync: error: connection {connection_id} of tenant acme is disabled\n",
    )
    assert cli("connections", "enable", str(connection_id))[0] == 0

    (tmp_path / "new-token").write_text("a-new-token", encoding="utf-8")
    code, _, err = cli(
        "connections",
        "set-token",
        str(connection_id),
        "--token-file",
        "new-token",
        TODOSYNC_SECRET_KEY=key,
    )
    assert (code, err) == (0, f"connection {connection_id}: token replaced\n")
    code, _, err = cli(
        "connections", "set-token", "1", "--token-file", "token", TODOSYNC_SECRET_KEY=key
    )
    assert (code, err.count("\n")) == (1, 1)
    assert "from the settings" in err
    code, _, err = cli("connections", "disable", "404")
    assert (code, err) == (1, "todosync: error: no connection 404\n")


def test_secrets_rotate_needs_the_key_that_encrypted(cli: Cli, tmp_path: Path) -> None:
    """Rotation with the new key first succeeds; afterwards the old key alone reads nothing
    (one line, exit 1); a malformed key is a configuration error that does not echo it."""
    (tmp_path / "token").write_text(TOKEN, encoding="utf-8")
    old, new = _key(cli), _key(cli)
    assert cli("tenants", "create", "acme")[0] == 0
    create = ("connections", "create", "--tenant", "acme", "--url", "http://127.0.0.1:9100")
    assert cli(*create, "--token-file", "token", TODOSYNC_SECRET_KEY=old)[0] == 0

    code, _, err = cli("secrets", "rotate", TODOSYNC_SECRET_KEY=f"{new},{old}")
    assert (code, err) == (0, "1 token(s) encrypted with the first key\n")
    code, _, err = cli("secrets", "rotate", TODOSYNC_SECRET_KEY=old)
    assert (code, err.count("\n")) == (1, 1)
    assert "cannot be decrypted" in err
    assert cli("secrets", "rotate", TODOSYNC_SECRET_KEY=new)[0] == 0

    code, _, err = cli("connections", "list", TODOSYNC_SECRET_KEY="not-a-key-at-all")
    assert (code, err.count("\n")) == (1, 1)
    assert "TODOSYNC_SECRET_KEY: must be one or more Fernet keys" in err
    assert "not-a-key-at-all" not in err


def test_tenant_option_of_sync_verify_and_quarantine(cli: Cli) -> None:
    """An unknown tenant is one line and exit 1 for each; a tenant without a connection
    cannot sync; `quarantine list --tenant` lists that tenant's (none)."""
    for command in (
        ("sync",),
        ("verify",),
        ("quarantine", "list"),
        ("quarantine", "replay", "--all"),
    ):
        code, _, err = cli(*command, "--tenant", "ghost")
        assert (code, err) == (1, "todosync: error: no tenant ghost\n"), command
    assert cli("tenants", "create", "acme")[0] == 0
    code, _, err = cli("sync", "--tenant", "acme")
    assert code == 1
    assert "tenant acme has no connection" in err
    code, out, _ = cli("quarantine", "list", "--tenant", "acme", "--json")
    assert (code, json.loads(out)) == (0, {"data": []})
