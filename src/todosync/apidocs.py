"""Interactive API docs that work offline: Swagger UI's files come from the package
(`swagger-ui-bundle`), never from a CDN. The local API and the bundled fake both serve them.

    routes(openapi_url="/openapi.json", title="todosync")  # /docs and /docs/assets/...
"""

from __future__ import annotations

import swagger_ui_bundle
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "DOCS_PATH", "routes"]

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def routes(*, openapi_url: str, title: str) -> list[BaseRoute]:
    """`GET /docs` (Swagger UI over `openapi_url`) and the UI's own files under `/docs/assets`."""

    async def docs(_: Request) -> Response:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} · API docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )

    assets = StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)
    return [
        Route(DOCS_PATH, docs, methods=["GET", "HEAD"], include_in_schema=False),
        Mount(ASSETS_PATH, app=assets, name="docs-assets"),
    ]
