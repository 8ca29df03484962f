"""RFC 9457 problem details: the one place where ``identity.errors.Problem`` (and FastAPI's
validation errors) become ``application/problem+json``, and where each problem type's URI
resolves to a page saying what it means.

Also the one place where a database that cannot be reached
(``identity.store.database.UNAVAILABLE``, raised anywhere below a route: handler, dependency,
Authlib's server) becomes a 503 with Retry-After, in the format of the endpoint asked: OAuth's
error on the OAuth endpoints, problem+json on the APIs and JSON documents, a page on pages. It
is answered, not re-raised, so the connection it came on stays open for the client's next
request.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match, Mount

from identity import errors, i18n
from identity.i18n import gettext as _
from identity.settings import Settings
from identity.store import database
from identity.web import pages, routes

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
router = APIRouter(include_in_schema=False)

#: the endpoints that answer in OAuth's error format (RFC 6749 5.2, RFC 6750 3.1)
OAUTH_ENDPOINTS = frozenset({"/token", "/introspect", "/revoke", "/userinfo"})


class ProblemOut(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(examples=["/problems/unknown-library"])
    title: str = Field(examples=["No such library"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No library 'nowhere' in the agreements in force."])
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="invalid-request only: [{loc, message}, ...]"
    )


def respond(problem: errors.Problem) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if problem.retry_after is not None:
        headers["Retry-After"] = str(problem.retry_after)
    if isinstance(problem, errors.Unauthorized):
        # RFC 6750 3.1: no error code when the request carried no token at all
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if problem.sent else "Bearer"
    return JSONResponse(
        problem.to_dict(), status_code=problem.status, headers=headers, media_type=MEDIA_TYPE
    )


def database_unavailable(request: Request, error: BaseException | None = None) -> Response:
    """The 503 for a database that cannot be reached (``error``, logged without a traceback),
    in the format of the endpoint asked."""
    if error is not None:
        log.warning("the database cannot be reached: %s", getattr(error, "orig", None) or error)
    settings: Settings = request.app.state.settings
    retry_after = settings.database_retry_after_s
    path = request.url.path
    if path in OAUTH_ENDPOINTS:
        # RFC 6749 4.1.2.1's temporarily_unavailable, with the status that says so
        body = {
            "error": "temporarily_unavailable",
            "error_description": "The server cannot answer just now; try again shortly.",
        }
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        headers["Retry-After"] = str(retry_after)
        return JSONResponse(body, status_code=503, headers=headers)
    if path.startswith(("/api/", "/.well-known/")) or path.endswith(".json"):
        return respond(
            errors.DatabaseUnavailable(
                "The hub's database cannot be reached just now; nothing was done.",
                retry_after=retry_after,
            )
        )
    context = {
        "title": _("Please try again in a minute"),
        "message": _(
            "This service is briefly unavailable. Nothing has been recorded; please try again "
            "in a minute."
        ),
        "again": _again(request),
        "again_text": _("Try again"),
    }
    headers = {**pages.HEADERS, "Retry-After": str(retry_after)}
    return pages.TEMPLATES.TemplateResponse(
        request, "problem.html", context, status_code=503, headers=headers
    )


def _again(request: Request) -> str | None:
    """Where a patron tries again: the sign-in page of the same authorization request, or the
    page asked (only the hub's own patron pages: never a path taken as it came)."""
    path = request.url.path
    if path == "/authorize":
        return f"/authorize?{request.url.query}" if request.url.query else None
    if path == "/me":
        return "/me"
    return None


def install(app: FastAPI) -> None:
    async def on_unavailable(request: Request, exc: Exception) -> Response:
        return database_unavailable(request, exc)

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.Problem)
        return respond(exc)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        found = [
            {"loc": list(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return respond(errors.InvalidRequest("The request body is not valid.", errors=found))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        allowed = allowed_methods(request) if exc.status_code == 405 else []
        if allowed:
            headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
            exc = StarletteHTTPException(405, exc.detail, headers=headers)
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        if exc.status_code == 400:  # a body FastAPI could not even parse
            return respond(errors.InvalidRequest("The request body is not valid JSON.", errors=[]))
        if exc.status_code == 404 and request.scope.get("route") is None:  # no such path
            return respond(errors.NotFound(f"There is no API at {request.url.path}."))
        body = {"type": "about:blank", "title": str(exc.detail), "status": exc.status_code,
                "detail": str(exc.detail)}  # fmt: skip
        return JSONResponse(body, status_code=exc.status_code, media_type=MEDIA_TYPE,
                            headers=getattr(exc, "headers", None))  # fmt: skip

    app.add_exception_handler(errors.Problem, on_problem)
    for kind in database.UNAVAILABLE:
        app.add_exception_handler(kind, on_unavailable)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    routes.add(app, router)


def allowed_methods(request: Request) -> list[str]:
    """Every method the app's routes answer at the request's path. Starlette's 405 names only
    those of the first route with that path, so a path with GET and POST routes would claim only
    one. A mounted app (``/static``) names its own and is left out here."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def responses(*kinds: type[errors.Problem]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problems an endpoint may answer, with an example each."""
    out: dict[int | str, dict[str, Any]] = {}
    for kind in kinds:
        example = kind.example().to_dict()
        schema = ProblemOut.model_json_schema()
        content = {MEDIA_TYPE: {"schema": schema, "examples": {}}}
        entry = out.setdefault(kind.status, {"description": kind.title, "content": content})
        if kind.status in (429, 503):
            entry["headers"] = {
                "Retry-After": {
                    "description": "seconds to wait before asking again",
                    "schema": {"type": "integer"},
                }
            }
        entry["content"][MEDIA_TYPE]["examples"][kind.slug] = {
            "summary": kind.title,
            "value": example,
        }
        if kind.title not in entry["description"]:
            entry["description"] += f"; {kind.title}"
    return out


@router.get("/problems/{slug}")
def describe(slug: str, request: Request) -> HTMLResponse:
    kind = errors.PROBLEMS.get(slug)
    if kind is None:
        return HTMLResponse("No such problem type", status_code=404, headers=pages.HEADERS)
    # for the developers of API clients, in English like problem+json: the whole page, so that
    # its ``lang`` is true
    context = {"title": f"{kind.status} {kind.title}", "message": (kind.__doc__ or kind.title)}
    headers = {**pages.HEADERS, "Content-Language": i18n.DEFAULT_LOCALE}
    token = i18n.current_locale.set(i18n.DEFAULT_LOCALE)
    try:
        return pages.TEMPLATES.TemplateResponse(request, "problem.html", context, headers=headers)
    finally:
        i18n.current_locale.reset(token)
