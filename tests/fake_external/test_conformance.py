"""The fake answers every operation of `external-api.yaml` as the spec says.

Requests go in-process to the ASGI app through schemathesis, which validates each response
(status, content type, headers, body schema) against the copy of the spec that ships with the
fake (`todosync/fake_external/external-api.yaml`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup

from todosync import fake_external
from todosync.fake_external import app, config, runtime

SPEC_PATH = Path(fake_external.__file__).with_name("external-api.yaml")

CHECKS = [
    checks.not_a_server_error,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
LIST_ID = "list-1"
ITEM_ID = "item-1"
SEED_LIST = {
    "id": LIST_ID,
    "source_id": "3f1c0a52-7d3e-4c55-9c1e-0d7b6a1e2f10",
    "name": "Groceries",
    "created_at": "2026-11-01T10:00:00.000Z",
    "updated_at": "2026-11-01T10:00:00.000Z",
    "items": [
        {
            "id": ITEM_ID,
            "description": "Milk",
            "completed": False,
            "created_at": "2026-11-01T10:00:00.000Z",
            "updated_at": "2026-11-01T10:00:00.000Z",
        }
    ],
}
WITH_IDS = {"todolistId": LIST_ID, "todoitemId": ITEM_ID}
OPERATIONS = [
    ("GET", "/todolists"),
    ("POST", "/todolists"),
    ("PATCH", "/todolists/{todolistId}"),
    ("DELETE", "/todolists/{todolistId}"),
    ("PATCH", "/todolists/{todolistId}/todoitems/{todoitemId}"),
    ("DELETE", "/todolists/{todolistId}/todoitems/{todoitemId}"),
]


@pytest.fixture(scope="module")
def spec() -> Any:
    """The spec, loaded by schemathesis; a missing file fails the test, never skips it."""
    if not SPEC_PATH.is_file():
        pytest.fail(f"the external API spec is missing: {SPEC_PATH}")
    return schemathesis.openapi.from_path(SPEC_PATH)


@pytest.fixture
def fake() -> Iterator[tuple[runtime.Runtime, Any]]:
    """A fresh in-memory fake and its ASGI app."""
    rt = runtime.Runtime(config.ServerConfig())
    yield rt, app.create_app(rt)
    rt.close()


def call(spec: Any, asgi: Any, method: str, path: str, **case_fields: Any) -> Any:
    """Sends one request built from the spec's operation and validates the response."""
    if "body" in case_fields:
        case_fields["media_type"] = "application/json"
    case = spec[path][method].Case(**case_fields)
    response = case.call(app=asgi)
    case.validate_response(response, checks=CHECKS)
    return response


def test_every_operation_answers_with_its_documented_status_and_shape(
    spec: Any, fake: tuple[runtime.Runtime, Any]
) -> None:
    """A walk through all six operations gets 200/201/204 answers that match the spec."""
    _, asgi = fake
    assert call(spec, asgi, "GET", "/todolists").json() == []
    body = {
        "name": "Trip",
        "source_id": "s-1",
        "items": [{"description": "Tent", "source_id": "s-2"}],
    }
    created = call(spec, asgi, "POST", "/todolists", body=body)
    assert created.status_code == 201
    ids = {"todolistId": created.json()["id"], "todoitemId": created.json()["items"][0]["id"]}
    assert call(spec, asgi, "POST", "/todolists", body={}).status_code == 201
    one_list, one_item = "/todolists/{todolistId}", "/todolists/{todolistId}/todoitems/{todoitemId}"
    patched = call(spec, asgi, "PATCH", one_list, path_parameters=ids, body={"name": "Hike"})
    assert patched.json()["name"] == "Hike"
    item = call(spec, asgi, "PATCH", one_item, path_parameters=ids, body={"completed": True})
    assert item.json()["completed"] is True
    assert len(call(spec, asgi, "GET", "/todolists").json()) == 2
    assert call(spec, asgi, "DELETE", one_item, path_parameters=ids).status_code == 204
    assert call(spec, asgi, "DELETE", one_list, path_parameters=ids).status_code == 204


UNKNOWN_ID_CASES = [
    (method, path, missing)
    for method, path in OPERATIONS[2:]
    for missing in ("todolistId", "todoitemId")
    if "{" + missing + "}" in path
]
WITH_BODY = [op for op in OPERATIONS if op[0] in ("POST", "PATCH")]


@pytest.mark.parametrize(("method", "path", "missing"), UNKNOWN_ID_CASES)
def test_unknown_ids_are_404(
    spec: Any, fake: tuple[runtime.Runtime, Any], method: str, path: str, missing: str
) -> None:
    """Each operation on an unknown list or item answers 404, within the spec."""
    rt, asgi = fake
    rt.store.load([SEED_LIST])
    ids = {name: value for name, value in WITH_IDS.items() if name in path}
    ids[missing] = "no-such-id"
    fields: dict[str, Any] = {"path_parameters": ids}
    if method == "PATCH":
        fields["body"] = {}
    assert call(spec, asgi, method, path, **fields).status_code == 404


def test_validation_rejects_an_entity_that_breaks_the_spec(
    spec: Any, fake: tuple[runtime.Runtime, Any]
) -> None:
    """A malformed entity loaded through the control API fails validation: the checks have teeth."""
    rt, asgi = fake
    rt.store.load([{"id": 5, "name": "odd"}])
    with pytest.raises(FailureGroup):
        call(spec, asgi, "GET", "/todolists")


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_generated_valid_requests_succeed_and_conform(
    spec: Any, fake: tuple[runtime.Runtime, Any], method: str, path: str
) -> None:
    """Any request the spec allows, on existing ids, gets a 2xx answer that matches the spec."""
    rt, asgi = fake
    ids = {name: value for name, value in WITH_IDS.items() if name in path}
    strategy = spec[path][method].as_strategy(path_parameters=ids or None)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        rt.store.load([SEED_LIST])
        response = case.call(app=asgi)
        case.validate_response(response, checks=CHECKS)
        assert 200 <= response.status_code < 300, response.text

    check()


@pytest.mark.parametrize(("method", "path"), WITH_BODY)
def test_generated_invalid_requests_get_a_4xx(
    spec: Any, fake: tuple[runtime.Runtime, Any], method: str, path: str
) -> None:
    """Bodies that break the spec (wrong types, not an object) are refused with a 4xx."""
    rt, asgi = fake
    ids = {name: value for name, value in WITH_IDS.items() if name in path}
    strategy = spec[path][method].as_strategy(GenerationMode.NEGATIVE, path_parameters=ids or None)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        rt.store.load([SEED_LIST])
        response = case.call(app=asgi)
        case.validate_response(response, checks=[checks.not_a_server_error])
        assert 400 <= response.status_code < 500, (case.body, response.text)

    check()
