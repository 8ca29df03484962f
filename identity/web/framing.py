"""No response of the hub may be shown in another site's frame (clickjacking: the consent
button, the admin pages, but also /docs and every error page). Pure ASGI middleware
gives every response ``X-Frame-Options: DENY`` and a Content-Security-Policy with
``frame-ancestors 'none'``: the response's own policy with that directive added when it has
none, or that directive alone. Pages set the rest of their policy (``pages.HEADERS``)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_FRAMING = "frame-ancestors 'none'"


class NoFraming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def framed_nowhere(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                headers["X-Frame-Options"] = "DENY"
                policy = headers.get("Content-Security-Policy", "").strip().rstrip(";")
                if "frame-ancestors" not in policy:
                    policy = f"{policy}; {NO_FRAMING}" if policy else NO_FRAMING
                headers["Content-Security-Policy"] = policy
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, framed_nowhere)
