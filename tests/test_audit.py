"""`scripts/audit_report.py`: a known vulnerability fails the audit with its id; packages the
service could not look up are said, and fail it only when asked to be strict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPORTER = Path(__file__).resolve().parents[1] / "scripts" / "audit_report.py"
VULNERABLE = {
    "name": "jinja2",
    "version": "2.10",
    "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"], "aliases": ["CVE-2019-10906"]}],
}
CLEAN = {"name": "httpx", "version": "0.28.1", "vulns": []}
SKIPPED = {"name": "rich", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def _report(
    tmp_path: Path, *deps: dict[str, Any], status: int, **env: str
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"dependencies": list(deps), "fixes": []}))
    return subprocess.run(
        [sys.executable, str(REPORTER), str(path), str(status)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def test_a_known_vulnerability_fails_with_its_id(tmp_path: Path) -> None:
    """A vulnerable package makes the audit exit 1 and name the advisory and the fix."""
    result = _report(tmp_path, CLEAN, VULNERABLE, status=1)
    assert result.returncode == 1
    assert "jinja2 2.10: PYSEC-2019-217 (fixed in: 2.10.1)" in result.stdout
    assert "2 of 2 locked packages audited, 1 known vulnerabilities" in result.stdout


def test_a_clean_audit_passes(tmp_path: Path) -> None:
    """Nothing known against any package: exit 0."""
    result = _report(tmp_path, CLEAN, status=0)
    assert result.returncode == 0
    assert "1 of 1 locked packages audited, 0 known vulnerabilities" in result.stdout


def test_packages_not_looked_up_are_said_and_fail_only_when_strict(tmp_path: Path) -> None:
    """Unreachable data is reported as such, never as a clean result; strict mode fails."""
    lenient = _report(tmp_path, CLEAN, SKIPPED, status=0)
    assert lenient.returncode == 0
    assert "1 of 2 locked packages audited" in lenient.stdout
    assert "1 could not be looked up" in lenient.stdout
    strict = _report(tmp_path, CLEAN, SKIPPED, status=0, TODOSYNC_AUDIT_STRICT="1")
    assert strict.returncode == 1
