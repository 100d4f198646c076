"""The Prometheus alert rules in `deploy/prometheus`: valid (`promtool check rules`), and they
fire when and only when their unit tests say (`promtool test rules`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

RULES_DIR = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
RULES = RULES_DIR / "todosync-rules.yml"
RULE_TESTS = RULES_DIR / "todosync-rules.test.yml"

promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    promtool is None, reason="promtool is not installed (Debian package `prometheus`)"
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert promtool is not None
    return subprocess.run(
        [promtool, *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_rules_are_valid() -> None:
    """`promtool check rules` accepts the rules file."""
    done = _promtool("check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


@needs_promtool
def test_rules_pass_their_unit_tests() -> None:
    """`promtool test rules` passes: each alert fires after its `for` and stays quiet otherwise."""
    done = _promtool("test", "rules", RULE_TESTS.name)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_rules_name_only_metrics_that_exist(anonymous_client: httpx.AsyncClient) -> None:
    """Every `todosync_*` series the rules use is one that `/metrics` exposes."""
    used = set(re.findall(r"\btodosync_[a-z_]+", RULES.read_text()))
    text = (await anonymous_client.get("/metrics")).text
    exposed = {family.name for family in text_string_to_metric_families(text)}
    assert used <= exposed, used - exposed
