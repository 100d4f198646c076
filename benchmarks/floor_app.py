"""The floor of the local API: a minimal ASGI app that answers every GET and every PATCH
with bytes captured from `todosync serve`, under uvicorn configured as `todosync serve`
configures it (`todosync.server.run`). `python -m benchmarks.floor_app PORT RESPONSES.json`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

__all__ = ["make_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def make_app(responses: dict[str, dict[str, Any]]) -> Callable[[Scope, Receive, Send], Any]:
    """`responses` maps a method to `{"status", "content_type", "body"}`."""
    prepared = {
        method: (
            r["status"],
            [
                (b"content-type", r["content_type"].encode()),
                (b"content-length", str(len(r["body"].encode())).encode()),
            ],
            r["body"].encode(),
        )
        for method, r in responses.items()
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        # Read the request body to its end, as any real endpoint must.
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        status, headers, body = prepared.get(scope["method"], (404, [], b""))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def main() -> None:
    port = int(sys.argv[1])
    responses = json.loads(Path(sys.argv[2]).read_text())
    # The same uvicorn settings as `todosync serve` with TODOSYNC_LOG_LEVEL=WARNING.
    config = uvicorn.Config(
        make_app(responses), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
