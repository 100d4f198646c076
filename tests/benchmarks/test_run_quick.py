"""`benchmarks/run.py --quick` end to end: real processes, figures printed, none asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {"first_import", "no_change", "changes_1pct", "first_export"}
RESULT_KEYS = {"scenario", "items", "seconds", "floor_seconds", "ratio", "api_calls", "peak_rss_mb"}


@pytest.mark.timeout(240)
def test_quick_run_writes_the_json_of_the_issue(tmp_path: Path) -> None:
    """A quick run prints a table, writes the issue's JSON object, and a sync that changes
    nothing makes exactly one API call."""
    out = tmp_path / "bench.json"
    args = [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)]
    # In the PostgreSQL pass, benchmark on that server too (in fresh databases of its own).
    test_db = os.environ.get("TODOSYNC_TEST_DATABASE_URL", "")
    if test_db.startswith("postgresql"):
        args += ["--database", test_db]
    done = subprocess.run(args, capture_output=True, text=True, timeout=230, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "first_import" in done.stdout

    report = json.loads(out.read_text())
    assert set(report) >= {"machine", "results", "api_load"}
    results = report["results"]
    assert {row["scenario"] for row in results} == SCENARIOS
    for row in results:
        assert set(row) >= RESULT_KEYS
        assert row["items"] == 1_000
        assert row["status"] == "ok"
    no_change = next(row for row in results if row["scenario"] == "no_change")
    assert no_change["api_calls"] == 1
    phases = report["api_load"]["phases"]
    assert {(p["phase"], p["target"]) for p in phases} == {
        (phase, target)
        for phase in ("get_items_page", "patch_item")
        for target in ("todosync serve", "floor", "db floor")
    }
    assert all(p["requests_per_s"] > 0 for p in phases)
    served = [p for p in phases if p["target"] == "todosync serve"]
    assert all(p["ratio_to_db_floor"] is not None for p in served)
