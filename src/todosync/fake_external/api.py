"""The public API of `external-api.yaml`, plus the optional item-create extension.

Status codes: 201 on create, 200 with the entity on update, 204 on delete, 404 for an unknown
list or item, 400 for a body that is not JSON, 422 for JSON of the wrong shape or types,
401 without the configured bearer token. `GET /todolists` pages with `?page=N` and
`Link: <...>; rel="next"` when a page size is configured.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from todosync.fake_external import runtime, schemas

__all__ = ["PublicApi", "json_response"]

Body = TypeVar("Body")


def json_response(
    content: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response encoded with msgspec (fast for 100k items)."""
    return Response(
        msgspec.json.encode(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


async def decode_body(request: Request, body_type: type[Body], *, validate: bool = True) -> Body:
    """The request body as `body_type`: 400 when not JSON, 422 when of the wrong shape.
    Without `validate`, any JSON object goes: its known fields are kept as sent."""
    raw = await request.body()
    try:
        if not validate:
            return _unchecked(body_type, msgspec.json.decode(raw))
        return msgspec.json.decode(raw, type=body_type)
    except msgspec.ValidationError as exc:
        raise HTTPException(422, f"invalid body: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise HTTPException(400, f"body is not JSON: {exc}") from exc


def _unchecked(body_type: type[Body], value: Any) -> Body:
    # A msgspec Struct's constructor checks no types, so the values go in as they are.
    if not isinstance(value, dict):
        raise HTTPException(422, "invalid body: expected an object")
    fields = {name: value[name] for name in body_type.__struct_fields__ if name in value}  # type: ignore[attr-defined]
    if "items" in fields:
        items = fields["items"] if isinstance(fields["items"], list) else []
        fields["items"] = [_unchecked(schemas.CreateItem, item) for item in items]
    return body_type(**fields)


class PublicApi:
    """Route handlers over one `Runtime`."""

    def __init__(self, rt: runtime.Runtime) -> None:
        self._rt = rt

    def routes(self) -> list[Route]:
        one_list = "/todolists/{list_id}"
        one_item = "/todolists/{list_id}/todoitems/{item_id}"
        return [
            Route("/todolists", self.list_lists, methods=["GET"]),
            Route("/todolists", self.create_list, methods=["POST"]),
            Route(one_list, self.update_list, methods=["PATCH"]),
            Route(one_list, self.delete_list, methods=["DELETE"]),
            Route("/todolists/{list_id}/todoitems", self.create_item, methods=["POST"]),
            Route(one_item, self.update_item, methods=["PATCH"]),
            Route(one_item, self.delete_item, methods=["DELETE"]),
        ]

    async def list_lists(self, request: Request) -> Response:
        self._authorise(request)
        size = self._rt.settings.page_size
        if size is None:
            return json_response(self._rt.store.render())
        page = _page_number(request)
        start = (page - 1) * size
        headers = {}
        if start + size < len(self._rt.store):
            next_url = request.url.include_query_params(page=page + 1)
            headers["Link"] = f'<{next_url}>; rel="next"'
        return json_response(self._rt.store.render(start=start, stop=start + size), headers=headers)

    async def create_list(self, request: Request) -> Response:
        self._authorise(request)
        body = await self._body(request, schemas.CreateList)
        created = self._rt.store.create_list(body, now=self._rt.timestamp())
        return json_response(created, status_code=201)

    async def update_list(self, request: Request) -> Response:
        self._authorise(request)
        body = await self._body(request, schemas.UpdateList)
        list_id = request.path_params["list_id"]
        updated = self._rt.store.update_list(
            list_id, body, now=self._rt.timestamp(), bump_empty=self._bump_empty()
        )
        return json_response(_found(updated))

    async def delete_list(self, request: Request) -> Response:
        self._authorise(request)
        _found(self._rt.store.delete_list(request.path_params["list_id"]) or None)
        return Response(status_code=204)

    async def create_item(self, request: Request) -> Response:
        self._authorise(request)
        if not self._rt.settings.item_create:
            raise HTTPException(404)  # the extension is off: the path does not exist
        body = await self._body(request, schemas.CreateItem)
        created = self._rt.store.create_item(
            request.path_params["list_id"], body, now=self._rt.timestamp(), bump_list=self._bump()
        )
        return json_response(_found(created), status_code=201)

    async def update_item(self, request: Request) -> Response:
        self._authorise(request)
        body = await self._body(request, schemas.UpdateItem)
        ids = request.path_params
        updated = self._rt.store.update_item(
            ids["list_id"],
            ids["item_id"],
            body,
            now=self._rt.timestamp(),
            bump_list=self._bump(),
            bump_empty=self._bump_empty(),
        )
        return json_response(_found(updated))

    async def delete_item(self, request: Request) -> Response:
        self._authorise(request)
        ids = request.path_params
        deleted = self._rt.store.delete_item(
            ids["list_id"], ids["item_id"], now=self._rt.timestamp(), bump_list=self._bump()
        )
        _found(deleted or None)
        return Response(status_code=204)

    async def _body(self, request: Request, body_type: type[Body]) -> Body:
        return await decode_body(request, body_type, validate=self._rt.settings.validation)

    def _bump(self) -> bool:
        """Whether an item change also bumps its list's `updated_at` (the real API may)."""
        return self._rt.settings.bump_list_on_item_change

    def _bump_empty(self) -> bool:
        """Whether a PATCH that changes nothing still bumps `updated_at` (some servers do)."""
        return self._rt.settings.empty_patch_bumps

    def _authorise(self, request: Request) -> None:
        expected = self._rt.settings.token
        if expected is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )


def _found(entity: Body | None) -> Body:
    if entity is None:
        raise HTTPException(404)
    return entity


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise HTTPException(400, "page must be a positive integer")
    return int(raw)
