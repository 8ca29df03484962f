"""The language each request is answered in, and the switcher's ``/language``.

``Language`` (outermost middleware) sets ``identity.i18n.current_locale`` for the request: the
``lang`` cookie if it names a language of ours, else the one ``Accept-Language`` prefers, else
English. The switcher on every patron page is a list of plain links to
``/language?lang=fr&next=/privacy``, which sets the cookie (for a year) and goes back to the
page the patron was on: it works without JavaScript, and the page is then shown again in the
language chosen.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity import i18n

router = APIRouter(include_in_schema=False)

COOKIE = "lang"
YEAR = 365 * 86400


def chosen(headers: Headers) -> str:
    """The language a request is answered in (see the module)."""
    cookie = _cookie(headers.get("cookie", ""))
    if cookie in i18n.languages():
        return cookie
    return i18n.negotiate(headers.get("accept-language")) or i18n.DEFAULT_LOCALE


class Language:
    """Sets ``current_locale`` for each HTTP request, and says which in the
    ``Content-Language`` of a page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        locale = chosen(Headers(scope=scope))
        token = i18n.current_locale.set(locale)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                found = {name.lower(): value for name, value in headers}
                page = found.get(b"content-type", b"").startswith(b"text/html")
                if page and b"content-language" not in found:
                    headers.append((b"content-language", locale.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_language)
        finally:
            i18n.current_locale.reset(token)


@router.get("/language")
def switch(
    request: Request,
    lang: Annotated[str, Query(max_length=20)] = "",
    next: Annotated[str, Query(max_length=4000)] = "/",
) -> Response:
    """Remember the language chosen and go back to ``next`` (a path on this hub only)."""
    response = RedirectResponse(local_path(next), status_code=303)
    if lang in i18n.languages():
        response.set_cookie(
            COOKIE,
            lang,
            max_age=YEAR,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def switch_link(lang: str, here: str) -> str:
    """The switcher's link to ``lang`` from the page at ``here`` (path and query)."""
    return f"/language?lang={quote(lang)}&next={quote(here, safe='')}"


def local_path(target: str) -> str:
    """``target`` if it is a path on this hub (``/privacy``, ``/authorize?...``), else ``/``:
    the switcher must not send anyone elsewhere."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target)
    ):
        return "/"
    return target


def _cookie(header: str) -> str:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value.strip().strip('"')
    return ""
