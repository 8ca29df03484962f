"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (Redoc): the API's documentation from files
packaged with the hub (``fastapi-offline``'s copies of Swagger UI 5 and Redoc), never a CDN: it
works without the internet, and no third party's script runs on the identity provider's origin.
Each page loads its scripts and styles from the hub alone (``/docs/assets/``,
``/static/api-docs.js``) and reads ``/openapi.json``, under a policy that allows nothing else.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
FILES = Path(fastapi_offline.__file__).parent / "static"

#: scripts and styles from the hub only; both set element styles from their scripts, show
#: logos as data: URIs, and Redoc parses the document in a worker it makes from a blob
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; worker-src blob:; "
    "form-action 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
TITLE = "Reciprocal-borrowing patron identity hub: API"

SWAGGER_UI = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
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

REDOC = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<link rel="icon" href="/static/favicon.svg">
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="{ASSETS}/redoc.standalone.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and their assets; the app must be made with ``docs_url=None,
    redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=FILES), "docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(SWAGGER_UI, headers=HEADERS)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC, headers=HEADERS)
