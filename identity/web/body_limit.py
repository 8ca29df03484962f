"""The request body limit, as pure ASGI middleware: it sees the body as it arrives, before
anything has buffered or parsed it, and before the request is authenticated.

A declared ``Content-Length`` over the route's limit is answered 413 at once, without running
the route (a client that sent ``Expect: 100-continue`` never sends the body). A body of no
declared length (chunked) is counted as it is received and refused as soon as it passes the
limit: the route's reading stops there and whatever it would have answered is replaced by the
413. Either way the 413 says ``Connection: close`` and the rest of the body is never read.

Limits: ``HUB_MAX_ADMIN_BODY_BYTES`` on the administrators' pages and API past sign-in (an
imported agreement set), ``HUB_MAX_BODY_BYTES`` everywhere else. The 413 is in the form its
client reads: OAuth's error JSON (``invalid_request``) from the OAuth endpoints, problem+json
(``/problems/payload-too-large``) from the other APIs, a short page from pages (form posts).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity import errors
from identity.i18n import gettext as _
from identity.i18n import number
from identity.settings import Settings
from identity.web import pages, problems

#: answered in OAuth's error format (RFC 6749 5.2, RFC 6750 3.1)
OAUTH = frozenset({"/token", "/introspect", "/revoke", "/userinfo"})
#: administrators' routes that anyone may post to: they keep the small limit
SIGN_IN = frozenset({"/admin/login", "/api/v1/admin/sessions"})


def limit_for(settings: Settings, path: str) -> int:
    if path.startswith("/admin/password/"):  # anyone may post there too
        return settings.max_body_bytes
    if path.startswith(("/admin/", "/api/v1/admin/")) and path not in SIGN_IN:
        return settings.max_admin_body_bytes
    return settings.max_body_bytes


class BodyLimit:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(self.settings, scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await refuse(scope, receive, send, limit)
            return
        counted = 0
        passed = started = False

        async def counting_receive() -> Message:
            nonlocal counted, passed
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > limit:
                    passed = True
                    raise TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if passed and not started:
                return  # what the route answers to a body cut short is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not passed or started:
                raise
        if passed and not started:
            await refuse(scope, receive, send, limit)


class TooLarge(Exception):
    """Raised to the route reading a body that has passed its limit."""


async def refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    path: str = scope["path"]
    detail = f"The request body is larger than {limit} bytes, the most this hub takes here."
    response: Response
    if path in OAUTH:
        response = JSONResponse(
            {"error": "invalid_request", "error_description": detail},
            status_code=413,
            headers={"Cache-Control": "no-store"},
        )
    elif path.startswith("/api/"):
        response = problems.respond(errors.PayloadTooLarge(detail))
    else:
        message = _(
            "The form is larger than {bytes} bytes, the most this hub takes here. Nothing was done."
        ).format(bytes=number(limit))
        context = {"title": _("The form is too large"), "message": message}
        response = pages.TEMPLATES.TemplateResponse(
            Request(scope), "problem.html", context, status_code=413, headers=pages.HEADERS
        )
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses such a request before it reaches the app
