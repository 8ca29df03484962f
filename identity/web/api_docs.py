"""``GET /docs``: the API's interactive documentation (Swagger UI) from files packaged with
the hub (``swagger-ui-bundle``), never a CDN: it works without the internet, and no third
party's script runs on the identity provider's origin. The page loads its scripts and styles
from the hub alone (``/docs/assets/``, ``/static/api-docs.js``), under a policy that allows
nothing else. There is no ``/redoc``.

The packaged Swagger UI (4.15) reads OpenAPI 3.0 documents only, and FastAPI writes 3.1: the
page is given the same document labelled 3.0.3 (``/docs/openapi.json``), which it draws whole;
``/openapi.json`` stays as it is for every other reader.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/docs/assets"

#: scripts and styles from the hub only; Swagger UI sets some element styles from its script,
#: and shows its logos as data: URIs
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reciprocal-borrowing patron identity hub: API</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """``/docs`` and its assets; the app must be made with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), "docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers=HEADERS)

    @app.get("/docs/openapi.json", include_in_schema=False)
    def document() -> JSONResponse:
        return JSONResponse(as_openapi_30(app.openapi()))


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The document as Swagger UI 4 reads it: labelled 3.0.3."""
    return {**document, "openapi": "3.0.3"}
