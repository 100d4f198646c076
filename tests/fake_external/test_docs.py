"""The fake serves the contract it implements at `/openapi.json` and browsable docs at `/docs`,
from the package alone (no CDN), without counting or faulting those requests."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.api.helpers import offline_assets
from tests.fixtures.fake_external import FakeExternal
from todosync import fake_external
from todosync.fake_external.faults import FaultRule

CONTRACT = Path(fake_external.__file__).with_name("external-api.yaml")


def test_openapi_json_is_the_packaged_contract(fake_external: FakeExternal) -> None:
    """`GET /openapi.json` answers the packaged `external-api.yaml`, as JSON, even while
    every API request is faulted, and is not counted as an API request."""
    fake_external.set_faults([FaultRule(kind="error", status=500)])
    answer = httpx.get(f"{fake_external.url}/openapi.json", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    assert answer.json()["paths"].keys() >= {"/todolists", "/todolists/{todolistId}"}
    assert fake_external.request_count() == 0


def test_docs_work_offline(fake_external: FakeExternal) -> None:
    """`/docs` names no other host, and every asset it loads is served by the fake itself."""
    page = httpx.get(f"{fake_external.url}/docs", timeout=10)
    for url in offline_assets(page):
        assert httpx.get(f"{fake_external.url}{url}", timeout=10).status_code == 200, url
