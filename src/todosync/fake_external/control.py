"""The control API under `/__control/`: never logged, never faulted, never needs the token.

GET    /__control/requests   the request log (in-flight requests included), oldest first
DELETE /__control/requests   clear the request log
GET    /__control/faults     the fault config, with `hits` per rule
PUT    /__control/faults     replace the fault config: {"seed": 1, "rules": [{...}]}
DELETE /__control/faults     remove every fault rule
POST   /__control/release    let every held request go on (hang, timeout, pause)
GET    /__control/config     the run-time settings
PUT    /__control/config     change some settings: {"clock_offset_s": 30, "page_size": 2}
GET    /__control/state      the whole data set, verbatim
PUT    /__control/state      replace the data set with a JSON array, kept verbatim
POST   /__control/todolists/{id}/todoitems   add an item to a list (even with the extension
                             off), as a change made on the remote side
POST   /__control/reset      empty data and log, faults and settings as at start
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from todosync.fake_external import api, config, faults, runtime, schemas

__all__ = ["PREFIX", "ControlApi"]

PREFIX = "/__control"


class ControlApi:
    """Route handlers of the control API over one `Runtime`."""

    def __init__(self, rt: runtime.Runtime) -> None:
        self._rt = rt

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/requests", self.get_requests, methods=["GET"]),
            Route(f"{PREFIX}/requests", self.clear_requests, methods=["DELETE"]),
            Route(f"{PREFIX}/faults", self.get_faults, methods=["GET"]),
            Route(f"{PREFIX}/faults", self.put_faults, methods=["PUT"]),
            Route(f"{PREFIX}/faults", self.clear_faults, methods=["DELETE"]),
            Route(f"{PREFIX}/release", self.release, methods=["POST"]),
            Route(f"{PREFIX}/config", self.get_config, methods=["GET"]),
            Route(f"{PREFIX}/config", self.put_config, methods=["PUT"]),
            Route(f"{PREFIX}/state", self.get_state, methods=["GET"]),
            Route(f"{PREFIX}/state", self.put_state, methods=["PUT"]),
            Route(f"{PREFIX}/todolists/{{list_id}}/todoitems", self.add_item, methods=["POST"]),
            Route(f"{PREFIX}/reset", self.reset, methods=["POST"]),
        ]

    async def get_requests(self, request: Request) -> Response:
        return api.json_response(self._rt.log.records())

    async def clear_requests(self, request: Request) -> Response:
        self._rt.log.clear()
        return Response(status_code=204)

    async def get_faults(self, request: Request) -> Response:
        engine = self._rt.faults
        return api.json_response({**msgspec.to_builtins(engine.config), "hits": engine.hits})

    async def put_faults(self, request: Request) -> Response:
        self._rt.faults.replace(await api.decode_body(request, faults.FaultConfig))
        return await self.get_faults(request)

    async def clear_faults(self, request: Request) -> Response:
        self._rt.faults.replace(faults.FaultConfig())
        return Response(status_code=204)

    async def release(self, request: Request) -> Response:
        return api.json_response({"released": self._rt.release_held()})

    async def get_config(self, request: Request) -> Response:
        return api.json_response(self._rt.settings)

    async def put_config(self, request: Request) -> Response:
        changes = await api.decode_body(request, dict[str, Any])
        try:
            self._rt.settings = config.merge_runtime(self._rt.settings, changes)
        except msgspec.ValidationError as exc:
            raise HTTPException(422, f"invalid config: {exc}") from exc
        return api.json_response(self._rt.settings)

    async def get_state(self, request: Request) -> Response:
        return api.json_response(self._rt.store.render())

    async def put_state(self, request: Request) -> Response:
        self._rt.store.load(await api.decode_body(request, list[Any]))
        return Response(status_code=204)

    async def add_item(self, request: Request) -> Response:
        body = await api.decode_body(request, schemas.CreateItem)
        settings = self._rt.settings
        created = self._rt.store.create_item(
            request.path_params["list_id"],
            body,
            now=self._rt.timestamp(),
            bump_list=settings.bump_list_on_item_change,
        )
        if created is None:
            raise HTTPException(404)
        return api.json_response(created, status_code=201)

    async def reset(self, request: Request) -> Response:
        self._rt.reset()
        return Response(status_code=204)
