"""The network's branding on every patron page: its name, its logo and its accent colours
(``HUB_NETWORK_*``, docs/operations.md).

The colours reach the pages as CSS custom properties in a stylesheet made from the settings
(``/brand/colours.css``), and the logo is served from the hub (``/brand/logo``), so the pages'
Content-Security-Policy (styles and images from the hub only, nothing inline) stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from identity.settings import LOGO_TYPES, Settings

router = APIRouter(include_in_schema=False)

#: a colour change reaches browsers within this many seconds
MAX_AGE = 300
HEADERS = {"Cache-Control": f"public, max-age={MAX_AGE}", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Brand:
    """What the page templates show of the network (``brand`` in every template)."""

    name: str  # empty: the pages say "Library sign-in" in the patron's language
    logo: str | None  # the logo's URL on the hub
    help_url: str
    help_email: str


def of(settings: Settings) -> Brand:
    """The branding these settings give."""
    return Brand(
        name=settings.network_name,
        logo="/brand/logo" if settings.network_logo else None,
        help_url=settings.network_help_url,
        help_email=settings.network_help_email,
    )


def stylesheet(settings: Settings) -> str:
    """The accent colours as custom properties: ``--accent`` on light pages, and on dark ones
    (``prefers-color-scheme: dark``); ``/static/hub.css`` draws with them."""
    return (
        f":root {{ --accent: {settings.network_colour}; }}\n"
        "@media (prefers-color-scheme: dark) {\n"
        f"  :root {{ --accent: {settings.network_colour_dark}; }}\n"
        "}\n"
    )


@router.get("/brand/colours.css")
def colours(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    return Response(stylesheet(settings), media_type="text/css", headers=HEADERS)


@router.get("/brand/logo")
def logo(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.network_logo:
        return Response("No logo is set", status_code=404, media_type="text/plain")
    path = Path(settings.network_logo)
    # an SVG opened on its own runs no script in the hub's origin
    headers = {**HEADERS, "Content-Security-Policy": "default-src 'none'; sandbox"}
    return FileResponse(path, media_type=LOGO_TYPES[path.suffix.lower()], headers=headers)
