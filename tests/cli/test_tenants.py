"""`todosync tenants` as subprocesses against the test database: one line per error, a
non-zero exit, `--json` on the list."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.runner import run_cli


def test_tenants_create_list_disable_enable(database_url: str, tmp_path: Path) -> None:
    """Create, list (text and JSON), disable and enable a tenant; its token is refused for a
    disabled tenant."""

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli(*args, database_url=database_url, cwd=tmp_path)
        return done.returncode, done.stdout, done.stderr

    assert cli("tenants", "create", "acme")[0] == 0
    code, _, err = cli("tenants", "create", "acme")
    assert (code, err) == (1, "todosync: error: tenant acme exists\n")
    assert cli("tokens", "create", "--tenant", "acme")[0] == 0

    code, out, _ = cli("tenants", "list", "--json")
    assert code == 0
    listed = {t["name"]: t for t in json.loads(out)["data"]}
    assert (listed["acme"]["live_tokens"], listed["acme"]["disabled_at"]) == (1, None)
    assert "acme\t1 token(s)\t0 connection(s)" in cli("tenants", "list")[1]

    assert cli("tenants", "disable", "acme")[0] == 0
    code, _, err = cli("tokens", "create", "--tenant", "acme")
    assert (code, err.count("\n")) == (1, 1)
    assert "disabled" in err
    listed = {t["name"]: t for t in json.loads(cli("tenants", "list", "--json")[1])["data"]}
    assert listed["acme"]["disabled_at"] is not None

    assert cli("tenants", "enable", "acme")[0] == 0
    assert cli("tokens", "create", "--tenant", "acme")[0] == 0
    code, _, err = cli("tenants", "disable", "ghost")
    assert (code, err) == (1, "todosync: error: no tenant ghost\n")
