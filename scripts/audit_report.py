"""Reads pip-audit's JSON report for `scripts/audit`: prints each known vulnerability by id,
then how many locked packages could be audited; exits 1 on a vulnerability (or on packages
that could not be looked up, with TODOSYNC_AUDIT_STRICT=1).

    python scripts/audit_report.py REPORT.json PIP_AUDIT_EXIT_STATUS
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def main(report_path: str, pip_audit_status: int) -> int:
    deps: list[dict[str, Any]] = json.loads(Path(report_path).read_text())["dependencies"]
    vulnerable = [(dep, vuln) for dep in deps for vuln in dep.get("vulns", [])]
    skipped = [dep for dep in deps if "skip_reason" in dep]
    for dep, vuln in vulnerable:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
        print(f"scripts/audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixed})")
    audited = len(deps) - len(skipped)
    print(
        f"scripts/audit: {audited} of {len(deps)} locked packages audited, "
        f"{len(vulnerable)} known vulnerabilities"
    )
    if vulnerable or (pip_audit_status and not skipped):
        return 1
    if skipped:
        print(
            f"scripts/audit: {len(skipped)} could not be looked up (the vulnerability service "
            f"is not reachable from here), e.g. {skipped[0]['skip_reason']}"
        )
        if os.environ.get("TODOSYNC_AUDIT_STRICT") == "1":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
