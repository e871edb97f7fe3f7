"""The merged OpenAPI document at ``/openapi.json`` and Swagger UI at ``/docs``, served from the installed swagger-ui-bundle (no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from kernel.app import PROBLEM_SCHEMA

router = APIRouter(include_in_schema=False)
SWAGGER_UI_ASSETS = "/docs/static"


def own_openapi(app: FastAPI):
    """The gateway's own operations (token endpoint, key set), in the shape the merge expects."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                # The token endpoint takes optional form fields and answers bad ones with OAuth errors, never 422.
                operation.get("responses", {}).pop("422", None)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = document
        return document

    return build


def mount_swagger_ui(app: FastAPI) -> None:
    app.mount(SWAGGER_UI_ASSETS, StaticFiles(directory=Path(str(swagger_ui_bundle.swagger_ui_path))), name="swagger-ui")


@router.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(await request.app.state.openapi.document())


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="安责险 platform API — Swagger UI",
        swagger_js_url=f"{SWAGGER_UI_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI_ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": True},
    )
