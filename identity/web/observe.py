"""One pure ASGI middleware, outside every other, that gives each request an id and, once it
is answered, writes its access-log line and counts it (``hub_http_request_duration_seconds``).

The request id is the caller's ``X-Request-ID`` when it is a plain token (letters, digits and
``._:-``, at most 128), else a new random one; the answer carries it back, and every log line
written while the request is being answered has it (``request_id``).

The access log keeps the client's address, the method, the route's template
(``/api/v1/libraries/{library}``), the status and the duration; never the path asked or its
query string, which carry what must not sit in a log file: an ID token
(``/logout?id_token_hint=``), sign-in parameters (``/authorize``), an authorization code
(redirects back to a client), card numbers (``/admin/lookups?card=``).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity import logs, metrics

HEADER = b"x-request-id"
ACCEPTED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
#: the route label of a request no route answered (a 404), so that paths asked never become labels
UNMATCHED = "unmatched"
#: the methods counted by name; any other is counted as OTHER (a client chooses the method)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"

log = logs.get("hub.access")


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._timers: dict[tuple[str, str, int], Any] = {}  # labelled histograms, made once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500  # unless an answer starts

        async def identified(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, identified)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            method = scope["method"] if scope["method"] in METHODS else OTHER
            key = (route, method, status)
            timer = self._timers.get(key)
            if timer is None:
                timer = self._timers[key] = metrics.REQUESTS.labels(route, method, str(status))
            timer.observe(elapsed)
            client = scope.get("client")
            log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                client=client[0] if client else None,
            )
            structlog.contextvars.reset_contextvars(**tokens)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER:
            if ACCEPTED.fullmatch(value):
                return bytes(value).decode()
            break
    return secrets.token_hex(8)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    path: str = scope["path"]
    if path.startswith("/static/"):
        return "/static"
    return UNMATCHED
