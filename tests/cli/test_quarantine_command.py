"""`todosync quarantine list|replay` as a user runs them, after a real `todosync sync` met
invalid remote data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.cli.runner import run_cli
from tests.fixtures.fake_external import FakeExternal


def _cli(
    database_url: str, fake: FakeExternal, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        *args,
        database_url=database_url,
        cwd=tmp_path,
        TODOSYNC_EXTERNAL_API_URL=fake.url,
        TODOSYNC_EXTERNAL_API_TOKEN=fake.token or "",
        TODOSYNC_EXTERNAL_MAX_ATTEMPTS="1",
    )


def _quarantined(database_url: str, fake: FakeExternal, tmp_path: Path) -> list[dict[str, Any]]:
    result = _cli(database_url, fake, tmp_path, "quarantine", "list", "--json")
    assert result.returncode == 0, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)["data"]
    return data


def _seed_invalid(fake: FakeExternal) -> None:
    fake.load_state(
        [
            {"id": "good", "name": "Groceries", "items": []},
            {"id": "bad-name", "name": 7, "items": []},
            {"id": "bad-items", "name": "Chores", "items": [{"description": "no id"}]},
        ]
    )


def test_list_shows_what_a_sync_quarantined(
    database_url: str, fake_external: FakeExternal, tmp_path: Path
) -> None:
    """After a partial sync (exit 3), `quarantine list` shows each bad entity once, with
    the API's fields, in JSON and as one line each."""
    _seed_invalid(fake_external)
    sync = _cli(database_url, fake_external, tmp_path, "sync", "--json")
    assert sync.returncode == 3, sync.stderr
    report = json.loads(sync.stdout.strip().splitlines()[-1])
    assert report["status"] == "partial"
    assert len(report["errors"]) == 2

    entries = _quarantined(database_url, fake_external, tmp_path)
    assert [(e["entity"], e["external_id"], e["attempts"]) for e in entries] == [
        ("list", "bad-name", 1),
        ("item", entries[1]["external_id"], 1),
    ]
    assert set(entries[0]) == {
        "id",
        "entity",
        "external_id",
        "local_id",
        "reason",
        "attempts",
        "next_retry_at",
        "created_at",
    }
    text = _cli(database_url, fake_external, tmp_path, "quarantine", "list")
    assert text.returncode == 0
    assert len(text.stdout.strip().splitlines()) == 2
    assert "external=bad-name" in text.stdout


def test_replay_releases_one_or_all_and_refuses_bad_usage(
    database_url: str, fake_external: FakeExternal, tmp_path: Path
) -> None:
    """`replay ID` releases that entity, `replay --all` the rest; an unknown id is exit 1
    and neither or both of ID and --all is exit 2, each with one line on stderr."""
    _seed_invalid(fake_external)
    assert _cli(database_url, fake_external, tmp_path, "sync").returncode == 3
    first, second = _quarantined(database_url, fake_external, tmp_path)

    one = _cli(database_url, fake_external, tmp_path, "quarantine", "replay", str(first["id"]))
    assert one.returncode == 0, one.stderr
    assert [e["id"] for e in _quarantined(database_url, fake_external, tmp_path)] == [second["id"]]

    unknown = _cli(database_url, fake_external, tmp_path, "quarantine", "replay", "999999")
    assert unknown.returncode == 1
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert "not found" in unknown.stderr

    for args in ([], ["1", "--all"]):
        usage = _cli(database_url, fake_external, tmp_path, "quarantine", "replay", *args)
        assert usage.returncode == 2
        assert len(usage.stderr.strip().splitlines()) == 1

    everything = _cli(database_url, fake_external, tmp_path, "quarantine", "replay", "--all")
    assert everything.returncode == 0, everything.stderr
    assert _quarantined(database_url, fake_external, tmp_path) == []


def test_replay_after_the_data_is_fixed_converges(
    database_url: str, fake_external: FakeExternal, tmp_path: Path
) -> None:
    """Once the remote data is fixed and the entities replayed, the next sync is ok and
    imports them; nothing stays quarantined."""
    _seed_invalid(fake_external)
    assert _cli(database_url, fake_external, tmp_path, "sync").returncode == 3
    fake_external.load_state(
        [
            {"id": "good", "name": "Groceries", "items": []},
            {"id": "bad-name", "name": "Seven", "items": []},
            {
                "id": "bad-items",
                "name": "Chores",
                "items": [{"id": "i1", "description": "x", "completed": False}],
            },
        ]
    )
    replay = _cli(database_url, fake_external, tmp_path, "quarantine", "replay", "--all")
    assert replay.returncode == 0, replay.stderr
    sync = _cli(database_url, fake_external, tmp_path, "sync", "--json")
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert _quarantined(database_url, fake_external, tmp_path) == []
    verify = _cli(database_url, fake_external, tmp_path, "verify")
    assert verify.returncode == 0, verify.stdout
