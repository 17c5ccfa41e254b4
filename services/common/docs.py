"""API docs that work offline, and "Authorize" in them.

FastAPI's default /docs and /redoc pages load Swagger UI and ReDoc from a CDN, so without
internet they are blank. Every service builds its app with `service_api`, which serves the
assets from the `fastapi-offline` package (Swagger UI, ReDoc, favicon) under /docs-assets and
declares the two ways to authenticate as OpenAPI security schemes: a bearer JWT and the
X-API-Key header (services.common.auth reads both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A JWT with `sub` and `role` (referrer, specialist, ops, system); "
                       "`python -m services.common.auth ROLE SUBJECT` prints a development one.",
    },
    "apiKey": {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "A system client's API key (only its SHA-256 is configured).",
    },
}
# The credential headers `services.common.auth.authenticate` declares; an operation that has
# them needs authentication, and the security schemes replace them in the document.
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key"})


def secured(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with security schemes instead of raw credential header parameters."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            params = operation.get("parameters", [])
            credentials = [
                p for p in params
                if p.get("in") == "header" and p.get("name", "").lower() in _CREDENTIAL_HEADERS
            ]
            if not credentials:
                continue
            operation["parameters"] = [p for p in params if p not in credentials]
            if not operation["parameters"]:
                del operation["parameters"]
            operation["security"] = [{"bearerAuth": []}, {"apiKey": []}]
    return schema


def service_api(*, title: str, version: str = "1", **kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc use local assets and whose OpenAPI can Authorize."""
    api = FastAPI(title=title, version=version, docs_url=None, redoc_url=None, **kwargs)
    api.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = secured(get_openapi(
                title=api.title, version=api.version, description=api.description,
                routes=api.routes,
            ))
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{api.openapi_url}", title=f"{api.title} - Swagger UI",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @api.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @api.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{api.openapi_url}", title=f"{api.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png", with_google_fonts=False,
        )

    return api
